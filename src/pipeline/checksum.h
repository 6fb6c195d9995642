/*
 * SHA-256 stages of the pipeline: on the way in, the digest of each file is
 * computed as it streams (it goes into the manifest); on the way out it is
 * checked against the manifest as the bytes stream back.
 */
#ifndef PGB_PIPELINE_CHECKSUM_H
#define PGB_PIPELINE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/stream.h"

#define PGB_SHA256_SIZE 32

/*
 * A sink that hashes what is written and passes it on unchanged to next (or
 * only hashes, when next is NULL). On success the new sink owns next; on
 * failure next is left untouched and still belongs to the caller.
 * Returns 0 or PGB_ENOMEM.
 */
int pgb_sha256_sink_new(pgb_ctx *ctx, pgb_sink *next, pgb_sink **out);

/* The digest of everything written; PGB_EINVALID until the sink is finished. */
int pgb_sha256_sink_digest(const pgb_sink *sink, uint8_t out[PGB_SHA256_SIZE]);

/* How many bytes were written to the sink so far. */
uint64_t pgb_sha256_sink_bytes(const pgb_sink *sink);

/*
 * A source that passes through what it reads from upstream and hashes it.
 * When expected is not NULL, the read that reaches the end of the stream
 * fails with PGB_ECORRUPT "checksum mismatch in <object_name>: ..." if the
 * digest differs (and so does every read after it). expected and object_name
 * are copied. On success the new source owns upstream; on failure upstream is
 * left untouched and still belongs to the caller.
 */
int pgb_sha256_source_new(pgb_ctx *ctx, pgb_source *upstream, const uint8_t *expected,
                          const char *object_name, pgb_source **out);

/* The digest of the stream; PGB_EINVALID until a read has reached its end. */
int pgb_sha256_source_digest(const pgb_source *source, uint8_t out[PGB_SHA256_SIZE]);

#endif
