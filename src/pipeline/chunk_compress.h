/*
 * Compressing one whole chunk into one frame, in memory, with an encoder kept
 * from chunk to chunk (a zstd context costs more to make than a chunk costs
 * to compress). The output is a function of the bytes, the codec, the level
 * and the library's version: a chunk's content id is computed over it, which
 * costs a hash of the compressed bytes instead of the plaintext.
 */
#ifndef PGB_PIPELINE_CHUNK_COMPRESS_H
#define PGB_PIPELINE_CHUNK_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/ctx.h>

typedef struct pgb_chunk_compressor pgb_chunk_compressor;

/* Returns 0, PGB_EINVALID for an unknown codec or a level out of range, or PGB_ENOMEM. */
int pgb_chunk_compressor_new(pgb_ctx *ctx, int codec, int level, pgb_chunk_compressor **out);

/*
 * Compress data into one frame. *out points into the compressor's buffer (or,
 * for PGB_CODEC_NONE, at data itself) until the next call. Errors are
 * recorded in the ctx given to _new.
 */
int pgb_chunk_compress(pgb_chunk_compressor *c, const void *data, size_t size, const uint8_t **out,
                       size_t *out_size);

int pgb_chunk_compressor_codec(const pgb_chunk_compressor *c);

void pgb_chunk_compressor_free(pgb_chunk_compressor *c);

#endif
