/*
 * The gzip codec: zlib's deflate with a gzip wrapper (windowBits 15 + 16), so
 * that objects are plain .gz streams readable by `gzip -d`. The gzip trailer's
 * CRC-32 and length catch damage inside the member.
 */
#include <stdlib.h>
#include <zlib.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/compress.h"

/* 15: the largest window; +16: gzip header and trailer instead of zlib's. */
#define GZIP_WINDOW_BITS (15 + 16)

/* zlib counts in uInt: hand it at most this much per call. */
#define GZIP_MAX_STEP ((size_t)1 << 30)

static size_t cap(size_t size)
{
    return size < GZIP_MAX_STEP ? size : GZIP_MAX_STEP;
}

static int gzip_encoder_new(pgb_ctx *ctx, int level, void **state)
{
    z_stream *z = calloc(1, sizeof(*z));
    if (!z)
        return pgb_error_nomem(ctx);
    int ret = deflateInit2(z, level, Z_DEFLATED, GZIP_WINDOW_BITS, 8, Z_DEFAULT_STRATEGY);
    if (ret != Z_OK) {
        free(z);
        if (ret == Z_MEM_ERROR)
            return pgb_error_nomem(ctx);
        return pgb_error_set(ctx, PGB_EINVALID, "gzip: cannot start compression at level %d",
                             level);
    }
    *state = z;
    return PGB_OK;
}

static int gzip_encode(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size,
                       size_t *in_used, uint8_t *out, size_t out_size, size_t *out_made, int end,
                       int *done)
{
    z_stream *z = state;
    z->next_in = (Bytef *)in; /* zlib's API is not const, it does not write there */
    z->avail_in = (uInt)cap(in_size);
    z->next_out = out;
    z->avail_out = (uInt)cap(out_size);
    int ret = deflate(z, end ? Z_FINISH : Z_NO_FLUSH);
    /* Z_BUF_ERROR only says that no progress was possible: the caller flushes. */
    if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
        return pgb_error_set(ctx, PGB_ERROR, "gzip: compression failed (zlib error %d)", ret);
    *in_used = cap(in_size) - z->avail_in;
    *out_made = cap(out_size) - z->avail_out;
    *done = ret == Z_STREAM_END;
    return PGB_OK;
}

static void gzip_encoder_free(void *state)
{
    deflateEnd(state);
    free(state);
}

static int gzip_decoder_new(pgb_ctx *ctx, void **state)
{
    z_stream *z = calloc(1, sizeof(*z));
    if (!z)
        return pgb_error_nomem(ctx);
    int ret = inflateInit2(z, GZIP_WINDOW_BITS);
    if (ret != Z_OK) {
        free(z);
        if (ret == Z_MEM_ERROR)
            return pgb_error_nomem(ctx);
        return pgb_error_set(ctx, PGB_ERROR, "gzip: cannot start decompression (zlib error %d)",
                             ret);
    }
    *state = z;
    return PGB_OK;
}

static int gzip_decode(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size,
                       size_t *in_used, uint8_t *out, size_t out_size, size_t *out_made,
                       int *frame_end)
{
    z_stream *z = state;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)cap(in_size);
    z->next_out = out;
    z->avail_out = (uInt)cap(out_size);
    int ret = inflate(z, Z_NO_FLUSH);
    switch (ret) {
    case Z_OK:
    case Z_STREAM_END:
    case Z_BUF_ERROR: /* no progress possible: more input is needed */ break;
    case Z_MEM_ERROR: return pgb_error_nomem(ctx);
    case Z_NEED_DICT:
        return pgb_error_set(ctx, PGB_ECORRUPT, "gzip: stream asks for a preset dictionary");
    default: return pgb_error_set(ctx, PGB_ECORRUPT, "gzip: %s", z->msg ? z->msg : "invalid data");
    }
    *in_used = cap(in_size) - z->avail_in;
    *out_made = cap(out_size) - z->avail_out;
    *frame_end = ret == Z_STREAM_END; /* trailer CRC-32 and length checked */
    return PGB_OK;
}

static void gzip_decoder_free(void *state)
{
    inflateEnd(state);
    free(state);
}

static const char *gzip_library_version(void)
{
    return zlibVersion();
}

const struct pgb_codec_ops pgb_codec_gzip_ops = {
    .name = "gzip",
    .library = "zlib",
    .library_version = gzip_library_version,
    .frame_noun = "member",
    .min_level = 1,
    .max_level = 9,
    .default_level = 6,
    .encoder_new = gzip_encoder_new,
    .encode = gzip_encode,
    .encoder_free = gzip_encoder_free,
    .decoder_new = gzip_decoder_new,
    .decode = gzip_decode,
    .decoder_free = gzip_decoder_free,
};
