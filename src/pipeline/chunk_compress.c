#include "pipeline/chunk_compress.h"

#include <stdlib.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/compress.h"

struct pgb_chunk_compressor {
    pgb_ctx *ctx;
    int codec, level;
    const struct pgb_codec_ops *ops; /* NULL: stored as it is */
    void *encoder;
    int encoder_used; /* a frame was made with it since it was made */
    uint8_t *buffer;
    size_t capacity;
};

int pgb_chunk_compressor_new(pgb_ctx *ctx, int codec, int level, pgb_chunk_compressor **out)
{
    *out = NULL;
    const struct pgb_codec_ops *ops = pgb_codec_ops_for(codec);
    if (!ops && codec != PGB_CODEC_NONE)
        return pgb_error_set(ctx, PGB_EINVALID, "unknown compression codec %d", codec);
    if (ops && (level < ops->min_level || level > ops->max_level))
        return pgb_error_set(ctx, PGB_EINVALID, "%s level %d is out of range (%d-%d)", ops->name, level,
                             ops->min_level, ops->max_level);
    pgb_chunk_compressor *c = calloc(1, sizeof(*c));
    if (!c)
        return pgb_error_nomem(ctx);
    *c = (struct pgb_chunk_compressor){.ctx = ctx, .codec = codec, .level = level, .ops = ops};
    int rc = ops ? ops->encoder_new(ctx, level, &c->encoder) : PGB_OK;
    if (rc != PGB_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return PGB_OK;
}

/* A fresh frame for a codec without a whole-frame step: a new encoder (lz4 and gzip make them cheaply). */
static int ready_encoder(pgb_chunk_compressor *c)
{
    if (!c->encoder_used)
        return PGB_OK;
    c->ops->encoder_free(c->encoder);
    c->encoder = NULL;
    int rc = c->ops->encoder_new(c->ctx, c->level, &c->encoder);
    if (rc == PGB_OK)
        c->encoder_used = 0;
    return rc;
}

static int grow(pgb_chunk_compressor *c, size_t at_least)
{
    size_t capacity = c->capacity ? c->capacity : 64 * 1024;
    while (capacity < at_least)
        capacity *= 2;
    if (capacity == c->capacity)
        capacity *= 2;
    uint8_t *bigger = realloc(c->buffer, capacity);
    if (!bigger)
        return pgb_error_nomem(c->ctx);
    c->buffer = bigger;
    c->capacity = capacity;
    return PGB_OK;
}

int pgb_chunk_compress(pgb_chunk_compressor *c, const void *data, size_t size, const uint8_t **out,
                       size_t *out_size)
{
    if (!c->ops) {
        *out = data;
        *out_size = size;
        return PGB_OK;
    }
    if (c->ops->encode_whole) {
        size_t bound = size + size / 16 + 4096;
        int rc = c->capacity < bound ? grow(c, bound) : PGB_OK;
        size_t made = 0;
        while (rc == PGB_OK && (rc = c->ops->encode_whole(c->encoder, c->ctx, data, size, c->buffer, c->capacity,
                                                          &made)) == PGB_OK && made == 0)
            rc = grow(c, c->capacity + 1);
        if (rc != PGB_OK)
            return rc;
        *out = c->buffer;
        *out_size = made;
        return PGB_OK;
    }
    int rc = ready_encoder(c);
    /* Room for incompressible data plus frame overhead: one pass in the usual case. */
    if (rc == PGB_OK && c->capacity < size + size / 16 + 4096)
        rc = grow(c, size + size / 16 + 4096);
    c->encoder_used = 1;
    const uint8_t *in = data;
    size_t made = 0;
    int end = 0, done = 0;
    while (rc == PGB_OK && !done) {
        if (made == c->capacity && (rc = grow(c, made + 1)) != PGB_OK)
            break;
        size_t in_used = 0, out_made = 0;
        rc = c->ops->encode(c->encoder, c->ctx, in, size, &in_used, c->buffer + made, c->capacity - made,
                            &out_made, end, &done);
        in += in_used;
        size -= in_used;
        made += out_made;
        if (rc == PGB_OK && size == 0 && !end) {
            end = 1;
            done = 0;
        } else if (rc == PGB_OK && in_used == 0 && out_made == 0 && !done && made < c->capacity) {
            rc = grow(c, c->capacity + 1);
        }
    }
    if (rc != PGB_OK)
        return rc;
    *out = c->buffer;
    *out_size = made;
    return PGB_OK;
}

int pgb_chunk_compressor_codec(const pgb_chunk_compressor *c)
{
    return c->codec;
}

void pgb_chunk_compressor_free(pgb_chunk_compressor *c)
{
    if (!c)
        return;
    if (c->ops && c->encoder)
        c->ops->encoder_free(c->encoder);
    free(c->buffer);
    free(c);
}
