/*
 * Compression stages of the pipeline: a sink that compresses what it is given
 * and a source that gives back the plaintext of a compressed stream. Each
 * codec is one file that fills one struct pgb_codec_ops; compress.c holds the
 * stream loops shared by all of them, so that buffering, truncation and
 * trailing-data checks are written once.
 */
#ifndef PGB_PIPELINE_COMPRESS_H
#define PGB_PIPELINE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/stream.h"

/* Values are the codec byte of an object header (doc/repository-format.md). */
enum pgb_codec { PGB_CODEC_NONE = 0, PGB_CODEC_ZSTD = 1, PGB_CODEC_LZ4 = 2, PGB_CODEC_GZIP = 3 };

/*
 * Parse a compression spec as the "compress" option takes it: "zstd",
 * "zstd:3", "lz4:1", "gzip:6", "none". Without a level the codec's default is
 * used (zstd 3, lz4 1, gzip 6). Levels: zstd 1-22, lz4 1-12 (LZ4F's
 * compressionLevel: 1 and 2 are the fast compressor, 3 and up are HC), gzip
 * 1-9, none 0. Returns 0, or PGB_EINVALID naming the spec.
 */
int pgb_codec_parse(pgb_ctx *ctx, const char *spec, int *codec, int *level);

/* "zstd", "lz4", "gzip", "none"; NULL for a value that is not a codec. */
const char *pgb_codec_name(int codec);

/*
 * What makes a chunk's compressed frame, hence its content id: "zstd:3
 * libzstd 1.5.4", "none". Backups made with another encoding find none of
 * each other's chunks again. Writes at most size bytes into out.
 */
void pgb_codec_encoding(int codec, int level, char *out, size_t size);

/*
 * A sink that compresses what is written to it and pushes the compressed
 * bytes to next; finish writes the end of the frame and finishes next.
 * On success the new sink owns next (its destroy frees next too); on failure
 * next is left untouched and still belongs to the caller.
 * Returns 0, PGB_EINVALID for an unknown codec or a level out of range, or
 * PGB_ENOMEM.
 */
int pgb_compress_sink_new(pgb_ctx *ctx, int codec, int level, pgb_sink *next, pgb_sink **out);

/*
 * A source that reads a compressed stream from upstream and yields its
 * plaintext. Exactly one frame (gzip: one member) is accepted: a stream that
 * ends early, fails to decode or has bytes after the frame makes a read fail
 * with PGB_ECORRUPT. On success the new source owns upstream; on failure
 * upstream is left untouched and still belongs to the caller.
 */
int pgb_decompress_source_new(pgb_ctx *ctx, int codec, pgb_source *upstream, pgb_source **out);

/*
 * What a codec file provides. Step functions work on caller buffers and say
 * how much they used and made; they record errors in ctx themselves.
 */
struct pgb_codec_ops {
    const char *name;
    const char *frame_noun; /* "frame", or "member" for gzip: used in messages */
    const char *library;                  /* "libzstd", "liblz4", "zlib" */
    const char *(*library_version)(void); /* of the library linked at run time */
    int min_level, max_level, default_level;

    int (*encoder_new)(pgb_ctx *ctx, int level, void **state);
    /*
     * Compress from in into out. With end set, in is empty and the step
     * writes the end of the frame, setting *done once all of it is out.
     * A step may make no progress only when out is short of room; with an
     * empty output buffer of PGB_COMPRESS_BUFFER_SIZE it always progresses.
     */
    int (*encode)(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, size_t *in_used,
                  uint8_t *out, size_t out_size, size_t *out_made, int end, int *done);
    void (*encoder_free)(void *state);
    /*
     * Optional: compress all of in as one frame in one call (no copy into the
     * encoder's own buffers); *made is 0 when out is too small.
     */
    int (*encode_whole)(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, uint8_t *out,
                        size_t out_size, size_t *made);

    int (*decoder_new)(pgb_ctx *ctx, void **state);
    /*
     * Decompress from in into out; *frame_end is set once the whole frame
     * has been decoded and handed out. With room in out and input left the
     * step always progresses; with no input it flushes what it holds.
     */
    int (*decode)(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, size_t *in_used,
                  uint8_t *out, size_t out_size, size_t *out_made, int *frame_end);
    void (*decoder_free)(void *state);
    /*
     * Optional: decode in, one whole frame and nothing after it, into out in
     * one call, the state kept for the next frame. *made is the plaintext size;
     * PGB_ECORRUPT when the frame is damaged or decodes to more than out_size.
     */
    int (*decode_whole)(void *state, pgb_ctx *ctx, const uint8_t *in, size_t in_size, uint8_t *out,
                        size_t out_size, size_t *made);
};

/* Size of the fixed buffers of every stage: memory never grows with the data. */
#define PGB_COMPRESS_BUFFER_SIZE ((size_t)256 * 1024)

/* The operations of a compressing codec; NULL for PGB_CODEC_NONE or a value that is not a codec. */
const struct pgb_codec_ops *pgb_codec_ops_for(int codec);

extern const struct pgb_codec_ops pgb_codec_zstd_ops;
extern const struct pgb_codec_ops pgb_codec_lz4_ops;
extern const struct pgb_codec_ops pgb_codec_gzip_ops;

#endif
