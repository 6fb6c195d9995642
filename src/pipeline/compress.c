/*
 * Codec names and levels, the stream loops shared by every codec, and the
 * "none" codec (a pass-through stage).
 */
#include "pipeline/compress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

const struct pgb_codec_ops *pgb_codec_ops_for(int codec)
{
    switch (codec) {
    case PGB_CODEC_ZSTD: return &pgb_codec_zstd_ops;
    case PGB_CODEC_LZ4: return &pgb_codec_lz4_ops;
    case PGB_CODEC_GZIP: return &pgb_codec_gzip_ops;
    default: return NULL;
    }
}

const char *pgb_codec_name(int codec)
{
    if (codec == PGB_CODEC_NONE)
        return "none";
    const struct pgb_codec_ops *ops = pgb_codec_ops_for(codec);
    return ops ? ops->name : NULL;
}

void pgb_codec_encoding(int codec, int level, char *out, size_t size)
{
    const struct pgb_codec_ops *ops = pgb_codec_ops_for(codec);
    if (ops)
        snprintf(out, size, "%s:%d %s %s", ops->name, level, ops->library, ops->library_version());
    else
        snprintf(out, size, "%s", codec == PGB_CODEC_NONE ? "none" : "?");
}

/* Digits only, no sign or spaces, at most three of them: levels are small. */
static int parse_level(const char *text, int *level)
{
    size_t len = strlen(text);
    if (len == 0 || len > 3)
        return -1;
    int value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    *level = value;
    return 0;
}

int pgb_codec_parse(pgb_ctx *ctx, const char *spec, int *codec, int *level)
{
    if (!spec)
        return pgb_error_set(ctx, PGB_EINVALID, "no compression given (NULL)");
    const char *colon = strchr(spec, ':');
    size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
    static const int codecs[] = {PGB_CODEC_ZSTD, PGB_CODEC_LZ4, PGB_CODEC_GZIP, PGB_CODEC_NONE};
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        const char *name = pgb_codec_name(codecs[i]);
        if (strlen(name) != name_len || strncmp(name, spec, name_len) != 0)
            continue;
        const struct pgb_codec_ops *ops = pgb_codec_ops_for(codecs[i]);
        int min = ops ? ops->min_level : 0, max = ops ? ops->max_level : 0;
        int value = ops ? ops->default_level : 0;
        if (colon && (parse_level(colon + 1, &value) != 0 || value < min || value > max))
            return pgb_error_set(ctx, PGB_EINVALID,
                                 "invalid compression '%s': %s takes a level from %d to %d", spec,
                                 name, min, max);
        *codec = codecs[i];
        *level = value;
        return PGB_OK;
    }
    return pgb_error_set(ctx, PGB_EINVALID,
                         "invalid compression '%s': expected zstd, lz4, gzip or none, "
                         "optionally with :LEVEL",
                         spec);
}

/* ---- "none": stages that hand bytes on unchanged ---- */

static int plain_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    return pgb_sink_write(sink->next, data, size);
}

static int plain_sink_finish(pgb_sink *sink)
{
    return pgb_sink_finish(sink->next);
}

static void plain_sink_destroy(pgb_sink *sink)
{
    pgb_sink_destroy(sink->next);
    free(sink);
}

static const struct pgb_sink_ops plain_sink_ops = {plain_sink_write, plain_sink_finish,
                                                   plain_sink_destroy};

static int plain_source_read(pgb_source *source, uint8_t *data, size_t size, size_t *got)
{
    return pgb_source_read(source->upstream, data, size, got);
}

static void plain_source_destroy(pgb_source *source)
{
    pgb_source_destroy(source->upstream);
    free(source);
}

static const struct pgb_source_ops plain_source_ops = {plain_source_read, plain_source_destroy};

/* ---- the compressing sink ---- */

enum stream_state { STREAM_OPEN, STREAM_FINISHED, STREAM_FAILED };

struct compress_sink {
    pgb_sink base;
    const struct pgb_codec_ops *codec;
    void *encoder;
    enum stream_state state;
    size_t used; /* bytes waiting in out */
    uint8_t out[PGB_COMPRESS_BUFFER_SIZE];
};

static int compress_flush(struct compress_sink *s)
{
    int rc = s->used ? pgb_sink_write(s->base.next, s->out, s->used) : PGB_OK;
    s->used = 0;
    return rc;
}

/* Run the encoder over data (or over the end of the frame when end is set). */
static int compress_run(struct compress_sink *s, const uint8_t *data, size_t size, int end)
{
    int done = 0;
    while (size > 0 || (end && !done)) {
        size_t in_used = 0, out_made = 0;
        int rc = s->codec->encode(s->encoder, s->base.ctx, data, size, &in_used, s->out + s->used,
                                  sizeof(s->out) - s->used, &out_made, end, &done);
        if (rc != PGB_OK)
            return rc;
        data += in_used;
        size -= in_used;
        s->used += out_made;
        if (in_used == 0 && out_made == 0 && !done) {
            if (s->used == 0)
                return pgb_error_set(s->base.ctx, PGB_ERROR,
                                     "%s compressor made no progress with an empty buffer",
                                     s->codec->name);
            if ((rc = compress_flush(s)) != PGB_OK)
                return rc;
        } else if (s->used == sizeof(s->out) && (rc = compress_flush(s)) != PGB_OK) {
            return rc;
        }
    }
    return PGB_OK;
}

static int compress_check_open(struct compress_sink *s)
{
    if (s->state == STREAM_OPEN)
        return PGB_OK;
    return pgb_error_set(s->base.ctx, PGB_EINVALID, "%s compression stream used after it %s",
                         s->codec->name, s->state == STREAM_FINISHED ? "was finished" : "failed");
}

static int compress_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct compress_sink *s = (struct compress_sink *)sink;
    int rc = compress_check_open(s);
    if (rc == PGB_OK && (rc = compress_run(s, data, size, 0)) != PGB_OK)
        s->state = STREAM_FAILED;
    return rc;
}

static int compress_sink_finish(pgb_sink *sink)
{
    struct compress_sink *s = (struct compress_sink *)sink;
    int rc = compress_check_open(s);
    if (rc != PGB_OK)
        return rc;
    s->state = STREAM_FAILED; /* until everything below has finished too */
    if ((rc = compress_run(s, NULL, 0, 1)) != PGB_OK || (rc = compress_flush(s)) != PGB_OK ||
        (rc = pgb_sink_finish(s->base.next)) != PGB_OK)
        return rc;
    s->state = STREAM_FINISHED;
    return PGB_OK;
}

static void compress_sink_destroy(pgb_sink *sink)
{
    struct compress_sink *s = (struct compress_sink *)sink;
    s->codec->encoder_free(s->encoder);
    pgb_sink_destroy(s->base.next);
    free(s);
}

static const struct pgb_sink_ops compress_sink_ops = {compress_sink_write, compress_sink_finish,
                                                      compress_sink_destroy};

int pgb_compress_sink_new(pgb_ctx *ctx, int codec, int level, pgb_sink *next, pgb_sink **out)
{
    if (!next || !out)
        return pgb_error_set(ctx, PGB_EINVALID, "compression sink needs a next sink");
    if (codec == PGB_CODEC_NONE) {
        if (level != 0)
            return pgb_error_set(ctx, PGB_EINVALID, "compression none takes no level (got %d)",
                                 level);
        pgb_sink *plain = malloc(sizeof(*plain));
        if (!plain)
            return pgb_error_nomem(ctx);
        *plain = (pgb_sink){&plain_sink_ops, ctx, next};
        *out = plain;
        return PGB_OK;
    }
    const struct pgb_codec_ops *ops = pgb_codec_ops_for(codec);
    if (!ops)
        return pgb_error_set(ctx, PGB_EINVALID, "unknown compression codec %d", codec);
    if (level < ops->min_level || level > ops->max_level)
        return pgb_error_set(ctx, PGB_EINVALID, "%s takes a level from %d to %d (got %d)",
                             ops->name, ops->min_level, ops->max_level, level);
    struct compress_sink *s = malloc(sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    s->base = (pgb_sink){&compress_sink_ops, ctx, next};
    s->codec = ops;
    s->state = STREAM_OPEN;
    s->used = 0;
    int rc = ops->encoder_new(ctx, level, &s->encoder);
    if (rc != PGB_OK) {
        free(s);
        return rc;
    }
    *out = &s->base;
    return PGB_OK;
}

/* ---- the decompressing source ---- */

struct decompress_source {
    pgb_source base;
    const struct pgb_codec_ops *codec;
    void *decoder;
    int upstream_ended, frame_ended, at_end;
    int failed;              /* a decoder in error is not trusted again */
    size_t in_start, in_end; /* unread compressed bytes are in[in_start, in_end) */
    uint8_t in[PGB_COMPRESS_BUFFER_SIZE];
};

static int decompress_refill(struct decompress_source *s)
{
    size_t got = 0;
    int rc = pgb_source_read(s->base.upstream, s->in, sizeof(s->in), &got);
    if (rc != PGB_OK)
        return rc;
    s->in_start = 0;
    s->in_end = got;
    s->upstream_ended = got == 0;
    return PGB_OK;
}

/* After the frame, the stream must end: one frame per object, nothing appended. */
static int decompress_check_end(struct decompress_source *s)
{
    if (s->in_start == s->in_end && !s->upstream_ended) {
        int rc = decompress_refill(s);
        if (rc != PGB_OK)
            return rc;
    }
    if (s->in_start < s->in_end)
        return pgb_error_set(s->base.ctx, PGB_ECORRUPT,
                             "%s stream has data after the end of the %s", s->codec->name,
                             s->codec->frame_noun);
    s->at_end = 1;
    return PGB_OK;
}

static int decompress_step(struct decompress_source *s, uint8_t *data, size_t size, size_t *got)
{
    while (*got == 0 && !s->at_end && size > 0) {
        int rc;
        if (s->frame_ended) {
            if ((rc = decompress_check_end(s)) != PGB_OK)
                return rc;
            continue;
        }
        if (s->in_start == s->in_end && !s->upstream_ended && (rc = decompress_refill(s)) != PGB_OK)
            return rc;
        size_t in_used = 0;
        rc = s->codec->decode(s->decoder, s->base.ctx, s->in + s->in_start, s->in_end - s->in_start,
                              &in_used, data, size, got, &s->frame_ended);
        if (rc != PGB_OK)
            return rc;
        s->in_start += in_used;
        if (*got == 0 && in_used == 0 && !s->frame_ended) {
            if (s->in_start < s->in_end)
                return pgb_error_set(s->base.ctx, PGB_ERROR,
                                     "%s decompressor made no progress on its input",
                                     s->codec->name);
            if (s->upstream_ended)
                return pgb_error_set(s->base.ctx, PGB_ECORRUPT, "%s stream is truncated",
                                     s->codec->name);
        }
    }
    return PGB_OK;
}

static int decompress_source_read(pgb_source *source, uint8_t *data, size_t size, size_t *got)
{
    struct decompress_source *s = (struct decompress_source *)source;
    *got = 0;
    if (s->failed)
        return pgb_error_set(s->base.ctx, s->failed, "%s stream read again after it failed",
                             s->codec->name);
    int rc = decompress_step(s, data, size, got);
    if (rc != PGB_OK) {
        s->failed = rc;
        *got = 0;
    }
    return rc;
}

static void decompress_source_destroy(pgb_source *source)
{
    struct decompress_source *s = (struct decompress_source *)source;
    s->codec->decoder_free(s->decoder);
    pgb_source_destroy(s->base.upstream);
    free(s);
}

static const struct pgb_source_ops decompress_source_ops = {decompress_source_read,
                                                            decompress_source_destroy};

int pgb_decompress_source_new(pgb_ctx *ctx, int codec, pgb_source *upstream, pgb_source **out)
{
    if (!upstream || !out)
        return pgb_error_set(ctx, PGB_EINVALID, "decompression source needs an upstream source");
    if (codec == PGB_CODEC_NONE) {
        pgb_source *plain = malloc(sizeof(*plain));
        if (!plain)
            return pgb_error_nomem(ctx);
        *plain = (pgb_source){&plain_source_ops, ctx, upstream};
        *out = plain;
        return PGB_OK;
    }
    const struct pgb_codec_ops *ops = pgb_codec_ops_for(codec);
    if (!ops)
        return pgb_error_set(ctx, PGB_EINVALID, "unknown compression codec %d", codec);
    struct decompress_source *s = malloc(sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    s->base = (pgb_source){&decompress_source_ops, ctx, upstream};
    s->codec = ops;
    s->upstream_ended = s->frame_ended = s->at_end = s->failed = 0;
    s->in_start = s->in_end = 0;
    int rc = ops->decoder_new(ctx, &s->decoder);
    if (rc != PGB_OK) {
        free(s);
        return rc;
    }
    *out = &s->base;
    return PGB_OK;
}
