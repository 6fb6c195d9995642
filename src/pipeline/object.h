/*
 * Stored objects (doc/repository-format.md, "Objects"): a header, then the body
 * made by the pipeline, SHA-256 of plaintext -> compression -> encryption ->
 * storage, and the inverse on read, with every tag and the final digest
 * checked. Memory is bounded by buffer sizes whatever the object's size.
 */
#ifndef PGB_PIPELINE_OBJECT_H
#define PGB_PIPELINE_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/storage.h>

#include "pipeline/keyset.h"
#include "pipeline/stream.h"

typedef struct pgb_object_encoder pgb_object_encoder;
typedef struct pgb_object_writer pgb_object_writer;
typedef struct pgb_object_reader pgb_object_reader;

/* What a committed object is: plaintext digest and size, and what it took in storage. */
struct pgb_object_info {
    uint8_t sha256[32];
    uint64_t plain_size;
    uint64_t stored_size;
};

/* How to write an object. */
struct pgb_object_spec {
    int codec; /* enum pgb_codec */
    int level;
    int seal;  /* enum pgb_seal; ignored when keys->encrypted is 0 */
    int flags; /* pgb_storage_flag */
    /*
     * The plaintext's SHA-256 when the caller computed it already (chunks:
     * the content writer hashes each one to name it): the encoder then skips
     * its own hashing pass and reports this digest. NULL: the encoder hashes.
     */
    const uint8_t *known_sha256;
    /*
     * What is written is already one frame of codec (a chunk compressed by
     * pgb_chunk_compress): the encoder only encrypts it, and reports no
     * digest (info->sha256 is zero, info->plain_size the frame's size).
     */
    int precompressed;
};

/*
 * Encode one object (header and body) into destination, which stays the
 * caller's: objects written one after another into a pack stream. name is
 * for messages. keys must outlive the encoder.
 */
int pgb_object_encoder_new(pgb_object_encoder **out, pgb_ctx *ctx, pgb_sink *destination, const char *name,
                           const struct pgb_keyset *keys, const struct pgb_object_spec *spec);
int pgb_object_encoder_write(pgb_object_encoder *e, const void *data, size_t size);
/* Flush the object's last bytes into destination; info->stored_size is its length there. */
int pgb_object_encoder_finish(pgb_object_encoder *e, struct pgb_object_info *info);
void pgb_object_encoder_free(pgb_object_encoder *e);

/*
 * Begin writing key. keys must outlive the writer. Errors go to the storage's
 * context. Nothing is visible until commit.
 */
int pgb_object_writer_open(pgb_object_writer **out, pgb_storage *storage, const char *key,
                           const struct pgb_keyset *keys, const struct pgb_object_spec *spec);
int pgb_object_writer_write(pgb_object_writer *w, const void *data, size_t size);
/* Finish and commit; info may be NULL. Frees the writer, also on failure. */
int pgb_object_writer_commit(pgb_object_writer *w, struct pgb_object_info *info);
void pgb_object_writer_abort(pgb_object_writer *w);

/*
 * Begin reading key, checking the header. With expected_sha256 the end of the
 * stream is checked against it. Damage is PGB_ECORRUPT naming the key; a
 * cipher this process has no key for is PGB_EAUTH.
 */
int pgb_object_reader_open(pgb_object_reader **out, pgb_storage *storage, const char *key,
                           const struct pgb_keyset *keys, const uint8_t *expected_sha256);
/*
 * The object stored at bytes [offset, offset + length) of key (a chunk in a
 * pack); name is for messages. With expected_sha256 NULL no digest is
 * computed (pgb_object_reader_digest then fails): for readers that check a
 * larger whole, such as a file's SHA-256 over its chunks, and would hash twice.
 */
int pgb_object_reader_open_range(pgb_object_reader **out, pgb_storage *storage, const char *key, uint64_t offset,
                                 uint64_t length, const char *name, const struct pgb_keyset *keys,
                                 const uint8_t *expected_sha256);
/*
 * As _open_range, but the reader yields the object's compressed frame
 * (authenticated and decrypted; no digest): for chunks decompressed whole by
 * pgb_chunk_decompress, with a decoder kept from chunk to chunk.
 */
int pgb_object_reader_open_frame(pgb_object_reader **out, pgb_storage *storage, const char *key, uint64_t offset,
                                 uint64_t length, const char *name, const struct pgb_keyset *keys);
/* The codec of the object's header (enum pgb_codec). */
int pgb_object_reader_codec(const pgb_object_reader *r);
int pgb_object_reader_read(pgb_object_reader *r, void *buffer, size_t size, size_t *got);
/* The plaintext digest, once a read has reached the end. */
int pgb_object_reader_digest(const pgb_object_reader *r, uint8_t out[32]);
void pgb_object_reader_close(pgb_object_reader *r);

/* Whole objects in memory (records, small files). */
int pgb_object_put(pgb_storage *storage, const char *key, const struct pgb_keyset *keys,
                   const struct pgb_object_spec *spec, const void *data, size_t size,
                   struct pgb_object_info *info);
/* *data is NUL-terminated (not counted in *size); free with free(). */
int pgb_object_get(pgb_storage *storage, const char *key, const struct pgb_keyset *keys, void **data,
                   size_t *size);

#endif
