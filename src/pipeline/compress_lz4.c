/*
 * The lz4 codec, in the LZ4 frame format (what `lz4 -d` reads). Frames carry
 * a content checksum so that damage is caught by the decoder itself.
 */
#include <lz4.h>
#include <lz4frame.h>
#include <stdlib.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/compress.h"

/* Input taken per LZ4F_compressUpdate call: its output bound must fit our buffer. */
#define LZ4_CHUNK_SIZE ((size_t)64 * 1024)

struct lz4_encoder {
    LZ4F_cctx *cctx;
    LZ4F_preferences_t prefs;
    int started;
};

static int lz4_failed(pgb_ctx *ctx, int code, size_t ret)
{
    return pgb_error_set(ctx, code, "lz4: %s", LZ4F_getErrorName(ret));
}

static int lz4_encoder_new(pgb_ctx *ctx, int level, void **state)
{
    struct lz4_encoder *e = calloc(1, sizeof(*e));
    if (!e)
        return pgb_error_nomem(ctx);
    if (LZ4F_isError(LZ4F_createCompressionContext(&e->cctx, LZ4F_VERSION))) {
        free(e);
        return pgb_error_nomem(ctx);
    }
    e->prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    e->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    /* LZ4F uses the fast compressor below level 3 and LZ4 HC from 3 to 12. */
    e->prefs.compressionLevel = level;
    *state = e;
    return PGB_OK;
}

static int lz4_encode(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, size_t *in_used,
                      uint8_t *out, size_t out_size, size_t *out_made, int end, int *done)
{
    struct lz4_encoder *e = state;
    size_t made = 0, ret;
    /* LZ4F writes only into room for its worst case: with less, make no progress
       and let the caller flush its buffer first. */
    if (!e->started) {
        if (out_size < LZ4F_HEADER_SIZE_MAX)
            return PGB_OK;
        ret = LZ4F_compressBegin(e->cctx, out, out_size, &e->prefs);
        if (LZ4F_isError(ret))
            return lz4_failed(ctx, PGB_ERROR, ret);
        made = ret;
        e->started = 1;
    }
    if (end) {
        if (out_size - made >= LZ4F_compressBound(0, &e->prefs)) {
            ret = LZ4F_compressEnd(e->cctx, out + made, out_size - made, NULL);
            if (LZ4F_isError(ret))
                return lz4_failed(ctx, PGB_ERROR, ret);
            made += ret;
            *done = 1;
        }
    } else {
        size_t chunk = in_size < LZ4_CHUNK_SIZE ? in_size : LZ4_CHUNK_SIZE;
        if (chunk > 0 && out_size - made >= LZ4F_compressBound(chunk, &e->prefs)) {
            ret = LZ4F_compressUpdate(e->cctx, out + made, out_size - made, in, chunk, NULL);
            if (LZ4F_isError(ret))
                return lz4_failed(ctx, PGB_ERROR, ret);
            made += ret;
            *in_used = chunk;
        }
    }
    *out_made = made;
    return PGB_OK;
}

static void lz4_encoder_free(void *state)
{
    struct lz4_encoder *e = state;
    LZ4F_freeCompressionContext(e->cctx);
    free(e);
}

static int lz4_decoder_new(pgb_ctx *ctx, void **state)
{
    LZ4F_dctx *dctx = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return pgb_error_nomem(ctx);
    *state = dctx;
    return PGB_OK;
}

static int lz4_decode(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, size_t *in_used,
                      uint8_t *out, size_t out_size, size_t *out_made, int *frame_end)
{
    size_t src_size = in_size, dst_size = out_size;
    size_t ret = LZ4F_decompress(state, out, &dst_size, in, &src_size, NULL);
    if (LZ4F_isError(ret))
        return lz4_failed(ctx, PGB_ECORRUPT, ret);
    *in_used = src_size;
    *out_made = dst_size;
    *frame_end = ret == 0; /* 0: frame decoded, checksum checked, all output flushed */
    return PGB_OK;
}

static void lz4_decoder_free(void *state)
{
    LZ4F_freeDecompressionContext(state);
}

static const char *lz4_library_version(void)
{
    return LZ4_versionString();
}

const struct pgb_codec_ops pgb_codec_lz4_ops = {
    .name = "lz4",
    .library = "liblz4",
    .library_version = lz4_library_version,
    .frame_noun = "frame",
    .min_level = 1,
    .max_level = 12,
    .default_level = 1,
    .encoder_new = lz4_encoder_new,
    .encode = lz4_encode,
    .encoder_free = lz4_encoder_free,
    .decoder_new = lz4_decoder_new,
    .decode = lz4_decode,
    .decoder_free = lz4_decoder_free,
};
