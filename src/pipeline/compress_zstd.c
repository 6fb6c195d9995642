/*
 * The zstd codec. Frames carry zstd's content checksum, so damage inside a
 * frame is caught by the decoder even without the object's SHA-256.
 */
#include <zstd.h>
#include <zstd_errors.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/compress.h"

static int zstd_failed(pgb_ctx *ctx, int code, size_t ret)
{
    return pgb_error_set(ctx, code, "zstd: %s", ZSTD_getErrorName(ret));
}

static int zstd_encoder_new(pgb_ctx *ctx, int level, void **state)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx)
        return pgb_error_nomem(ctx);
    size_t ret = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(ret))
        ret = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(ret)) {
        ZSTD_freeCCtx(cctx);
        return zstd_failed(ctx, PGB_EINVALID, ret);
    }
    *state = cctx;
    return PGB_OK;
}

static int zstd_encode(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size,
                       size_t *in_used, uint8_t *out, size_t out_size, size_t *out_made, int end,
                       int *done)
{
    ZSTD_inBuffer input = {in, in_size, 0};
    ZSTD_outBuffer output = {out, out_size, 0};
    size_t ret = ZSTD_compressStream2(state, &output, &input, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(ret))
        return zstd_failed(ctx, PGB_ERROR, ret);
    *in_used = input.pos;
    *out_made = output.pos;
    *done = end && ret == 0; /* 0: the frame epilogue is fully out */
    return PGB_OK;
}

static void zstd_encoder_free(void *state)
{
    ZSTD_freeCCtx(state);
}

static int zstd_encode_whole(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, uint8_t *out,
                             size_t out_size, size_t *made)
{
    size_t ret = ZSTD_compress2(state, out, out_size, in, in_size);
    *made = 0;
    if (ZSTD_isError(ret) && ZSTD_getErrorCode(ret) == ZSTD_error_dstSize_tooSmall)
        return PGB_OK;
    if (ZSTD_isError(ret))
        return zstd_failed(ctx, PGB_ERROR, ret);
    *made = ret;
    return PGB_OK;
}

static int zstd_decoder_new(pgb_ctx *ctx, void **state)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return pgb_error_nomem(ctx);
    *state = dctx;
    return PGB_OK;
}

static int zstd_decode(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size,
                       size_t *in_used, uint8_t *out, size_t out_size, size_t *out_made,
                       int *frame_end)
{
    ZSTD_inBuffer input = {in, in_size, 0};
    ZSTD_outBuffer output = {out, out_size, 0};
    size_t ret = ZSTD_decompressStream(state, &output, &input);
    if (ZSTD_isError(ret))
        return zstd_failed(ctx, PGB_ECORRUPT, ret);
    *in_used = input.pos;
    *out_made = output.pos;
    *frame_end = ret == 0; /* 0: frame decoded, checksum checked, all output flushed */
    return PGB_OK;
}

static void zstd_decoder_free(void *state)
{
    ZSTD_freeDCtx(state);
}

static int zstd_decode_whole(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, uint8_t *out,
                             size_t out_size, size_t *made)
{
    /* One frame exactly: ZSTD_decompressDCtx would also take several in a row. */
    size_t frame = ZSTD_findFrameCompressedSize(in, in_size);
    if (ZSTD_isError(frame))
        return zstd_failed(ctx, PGB_ECORRUPT, frame);
    if (frame != in_size)
        return pgb_error_set(ctx, PGB_ECORRUPT, "zstd: %zu bytes after the end of the frame", in_size - frame);
    size_t ret = ZSTD_decompressDCtx(state, out, out_size, in, in_size);
    if (ZSTD_isError(ret))
        return zstd_failed(ctx, PGB_ECORRUPT, ret);
    *made = ret;
    return PGB_OK;
}

static const char *zstd_library_version(void)
{
    return ZSTD_versionString();
}

const struct pgb_codec_ops pgb_codec_zstd_ops = {
    .name = "zstd",
    .library = "libzstd",
    .library_version = zstd_library_version,
    .frame_noun = "frame",
    .min_level = 1,
    .max_level = 22,
    .default_level = 3,
    .encoder_new = zstd_encoder_new,
    .encode = zstd_encode,
    .encoder_free = zstd_encoder_free,
    .encode_whole = zstd_encode_whole,
    .decoder_new = zstd_decoder_new,
    .decode = zstd_decode,
    .decoder_free = zstd_decoder_free,
    .decode_whole = zstd_decode_whole,
};
