/*
 * Reading one whole chunk back: its object's frame is read to the end
 * (authenticated and decrypted), then decoded in one call into the caller's
 * buffer with a decoder kept from chunk to chunk. The streaming reader would
 * decode through a window buffer of its own and make a decoder per chunk;
 * a chunk is small enough to hold whole.
 */
#ifndef PGB_PIPELINE_CHUNK_DECOMPRESS_H
#define PGB_PIPELINE_CHUNK_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/ctx.h>

#include "pipeline/object.h"

typedef struct pgb_chunk_decompressor pgb_chunk_decompressor;

/* Errors go to ctx. Returns 0 or PGB_ENOMEM. */
int pgb_chunk_decompressor_new(pgb_ctx *ctx, pgb_chunk_decompressor **out);

/*
 * Read r (opened with pgb_object_reader_open_frame) to its end and decode its
 * frame into out; *made is the plaintext size. PGB_ECORRUPT, naming r's
 * object, when the frame is damaged, has bytes after its end, or decodes to
 * more than out_size bytes.
 */
int pgb_chunk_decompress(pgb_chunk_decompressor *d, pgb_object_reader *r, const char *name, uint8_t *out,
                         size_t out_size, size_t *made);

void pgb_chunk_decompressor_free(pgb_chunk_decompressor *d);

#endif
