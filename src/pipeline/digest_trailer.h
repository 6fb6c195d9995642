/*
 * Integrity of unencrypted objects (doc/repository-format.md, "Body"): without
 * encryption nothing authenticates the stored bytes, and codec frames do not
 * cover every bit (gzip's header, lz4 blocks without checksums). So a cipher 0
 * body ends with SHA-256(header || compressed stream), checked before the end
 * of the stream is reported.
 */
#ifndef PGB_PIPELINE_DIGEST_TRAILER_H
#define PGB_PIPELINE_DIGEST_TRAILER_H

#include "pipeline/stream.h"

enum { PGB_DIGEST_TRAILER_SIZE = 32 };

/*
 * A sink that passes bytes to next and, on finish, appends the digest of
 * header and everything passed. Owns next on success only.
 */
int pgb_digest_trailer_sink_new(pgb_ctx *ctx, const uint8_t *header, size_t header_size, pgb_sink *next,
                                pgb_sink **out);

/*
 * A source that passes on all of upstream but its last 32 bytes, and at the end
 * checks them against the digest of header and what it passed: PGB_ECORRUPT
 * naming the object on a mismatch. Owns upstream on success only.
 */
int pgb_digest_trailer_source_new(pgb_ctx *ctx, const uint8_t *header, size_t header_size,
                                  const char *object_name, pgb_source *upstream, pgb_source **out);

#endif
