/*
 * The encrypted body of an object (doc/repository-format.md, "Body"):
 * AES-256-GCM under the object's data key in chunks of 65536 plaintext bytes.
 * Chunk i is sealed with nonce be64(i) || be32(final) and the whole encoded
 * header as additional data, so cutting, extending, reordering or re-heading
 * an object fails authentication. The final chunk is always shorter than a
 * full chunk (empty when the plaintext is empty or a multiple of 65536), so a
 * chunk's size alone says whether it is the final one.
 */
#ifndef PGB_PIPELINE_CRYPT_STREAM_H
#define PGB_PIPELINE_CRYPT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

#include "pipeline/stream.h"

#define PGB_CRYPT_CHUNK_SIZE 65536
#define PGB_CRYPT_TAG_SIZE 16

/* Size of the encrypted body for plain_size bytes of plaintext. */
uint64_t pgb_crypt_body_size(uint64_t plain_size);

/*
 * A sink that encrypts what it is given and writes the body to next. It
 * writes only the body: the caller writes the header to next first. Holds one
 * chunk in memory. finish seals the final chunk (possibly empty), then
 * finishes next; destroy frees this stage and next.
 *
 * @param data_key  the object's data key (copied, wiped on destroy)
 * @param aad       the encoded object header (copied)
 * @param next      where the body goes; owned by the new sink on success, still
 *                  the caller's on failure
 * @return 0, PGB_ENOMEM, or PGB_ERROR when OpenSSL fails
 */
int pgb_encrypt_sink_new(pgb_ctx *ctx, const uint8_t data_key[32], const uint8_t *aad,
                         size_t aad_len, pgb_sink *next, pgb_sink **out);

/*
 * A source that reads an encrypted body from upstream (positioned just after
 * the header) and gives its plaintext. Each chunk is authenticated before any
 * of its bytes are given out; the end of the stream is given only after the
 * final chunk has been authenticated. Damage fails with PGB_ECORRUPT naming
 * the object and the chunk: "object N is damaged: chunk 3 fails
 * authentication", "object N is truncated: ...". After a failure every read
 * fails the same way.
 *
 * @param data_key     the object's data key (copied, wiped on destroy)
 * @param aad          the encoded object header, as read (copied)
 * @param object_name  used in messages (copied)
 * @param upstream     owned by the new source on success, still the caller's
 *                     on failure; destroy frees it
 * @return 0, PGB_ENOMEM, or PGB_ERROR when OpenSSL fails
 */
int pgb_decrypt_source_new(pgb_ctx *ctx, const uint8_t data_key[32], const uint8_t *aad,
                           size_t aad_len, const char *object_name, pgb_source *upstream,
                           pgb_source **out);

#endif
