#include "pipeline/chunk_decompress.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/compress.h"

enum { CODECS = PGB_CODEC_GZIP + 1 };

struct pgb_chunk_decompressor {
    pgb_ctx *ctx;
    void *decoders[CODECS]; /* made on first use, kept for the codecs that decode whole frames */
    uint8_t *frame;
    size_t capacity;
};

int pgb_chunk_decompressor_new(pgb_ctx *ctx, pgb_chunk_decompressor **out)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return pgb_error_nomem(ctx);
    (*out)->ctx = ctx;
    return PGB_OK;
}

/* Read the rest of r into d->frame. */
static int read_frame(pgb_chunk_decompressor *d, pgb_object_reader *r, size_t *size)
{
    size_t filled = 0, got = 0;
    int rc = PGB_OK;
    for (;;) {
        if (filled == d->capacity) {
            size_t capacity = d->capacity ? d->capacity * 2 : 256 * 1024;
            uint8_t *bigger = realloc(d->frame, capacity);
            if (!bigger)
                return pgb_error_nomem(d->ctx);
            d->frame = bigger;
            d->capacity = capacity;
        }
        rc = pgb_object_reader_read(r, d->frame + filled, d->capacity - filled, &got);
        if (rc != PGB_OK || got == 0)
            break;
        filled += got;
    }
    *size = filled;
    return rc;
}

/* A codec without a whole-frame step: its streaming steps, into out, with a fresh decoder. */
static int decode_steps(pgb_chunk_decompressor *d, const struct pgb_codec_ops *ops, const uint8_t *in, size_t size,
                        uint8_t *out, size_t out_size, size_t *made)
{
    void *state = NULL;
    int rc = ops->decoder_new(d->ctx, &state);
    int frame_end = 0;
    *made = 0;
    while (rc == PGB_OK && !frame_end) {
        size_t used = 0, produced = 0;
        rc = ops->decode(state, d->ctx, in, size, &used, out + *made, out_size - *made, &produced, &frame_end);
        in += used;
        size -= used;
        *made += produced;
        if (rc == PGB_OK && !frame_end && used == 0 && produced == 0)
            rc = pgb_error_set(d->ctx, PGB_ECORRUPT, "%s: the %s %s", ops->name, ops->frame_noun,
                               *made == out_size ? "decodes to more than its recorded size" : "ends early");
    }
    if (rc == PGB_OK && size > 0)
        rc = pgb_error_set(d->ctx, PGB_ECORRUPT, "%s: %zu bytes after the end of the %s", ops->name, size,
                           ops->frame_noun);
    if (state)
        ops->decoder_free(state);
    return rc;
}

int pgb_chunk_decompress(pgb_chunk_decompressor *d, pgb_object_reader *r, const char *name, uint8_t *out,
                         size_t out_size, size_t *made)
{
    size_t size = 0;
    *made = 0;
    int rc = read_frame(d, r, &size);
    if (rc != PGB_OK)
        return rc;
    int codec = pgb_object_reader_codec(r);
    const struct pgb_codec_ops *ops = pgb_codec_ops_for(codec);
    if (codec == PGB_CODEC_NONE) {
        if (size > out_size)
            return pgb_error_set(d->ctx, PGB_ECORRUPT, "object %s is damaged: it holds more than its recorded size",
                                 name);
        memcpy(out, d->frame, size);
        *made = size;
        return PGB_OK;
    }
    if (!ops || codec >= CODECS)
        return pgb_error_set(d->ctx, PGB_ECORRUPT, "object %s has unknown codec %d", name, codec);
    if (ops->decode_whole && !d->decoders[codec])
        rc = ops->decoder_new(d->ctx, &d->decoders[codec]);
    if (rc == PGB_OK)
        rc = ops->decode_whole ? ops->decode_whole(d->decoders[codec], d->ctx, d->frame, size, out, out_size, made)
                               : decode_steps(d, ops, d->frame, size, out, out_size, made);
    if (rc == PGB_ECORRUPT)
        pgb_error_prefix(d->ctx, "object %s is damaged", name);
    return rc;
}

void pgb_chunk_decompressor_free(pgb_chunk_decompressor *d)
{
    if (!d)
        return;
    for (int codec = 0; codec < CODECS; codec++)
        if (d->decoders[codec])
            pgb_codec_ops_for(codec)->decoder_free(d->decoders[codec]);
    free(d->frame);
    free(d);
}
