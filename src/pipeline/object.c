/*
 * Stored objects: the header, then the pipeline (doc/repository-format.md).
 * Writing: sha256 -> compress -> encrypt -> storage. Reading: storage ->
 * decrypt -> decompress -> sha256, every chunk authenticated before its bytes
 * go on.
 */
#include "pipeline/object.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/read_all.h"
#include "core/text.h"
#include "pipeline/checksum.h"
#include "pipeline/compress.h"
#include "pipeline/crypt_stream.h"
#include "pipeline/digest_trailer.h"
#include "pipeline/key_wrap.h"
#include "pipeline/object_header.h"
#include "pipeline/storage_stream.h"
#include "storage/storage.h"

struct pgb_object_encoder {
    pgb_ctx *ctx;
    pgb_sink *head;         /* the first stage (sha256, or compress with a known digest); owns the chain */
    pgb_sink *forward;      /* the last stage: counts and passes bytes to the destination */
    size_t header_size;
    uint64_t plain_size;
    int known_digest;
    uint8_t sha256[32];     /* the known digest */
};

struct pgb_object_writer {
    pgb_storage_writer *storage_writer;
    pgb_sink *storage_sink;
    pgb_object_encoder *encoder;
};

struct pgb_object_reader {
    pgb_ctx *ctx;
    pgb_source *tail; /* the sha256 stage; owns the chain */
    pgb_source *body; /* the stage under the decompressor: drained at the end (not owned) */
    int hashed;       /* the tail is a sha256 stage */
    int codec;        /* of the header */
    char *key;
};

static int choose_cipher(pgb_ctx *ctx, const struct pgb_keyset *keys, int seal, const char *key)
{
    if (!keys->encrypted)
        return PGB_CIPHER_NONE;
    if (seal == PGB_SEAL_WRITER && !keys->has_writer)
        return pgb_error_set(ctx, PGB_EAUTH, "cannot write %s: it is sealed with the writer key, which this "
                             "process does not hold", key);
    return seal == PGB_SEAL_WRITER ? PGB_CIPHER_WRITER : PGB_CIPHER_REPOSITORY;
}

/* Encode the header (wrapping a new data key when encrypting). */
static int make_header(pgb_ctx *ctx, const struct pgb_keyset *keys, int codec, int cipher, uint8_t *raw,
                       size_t *raw_size, uint8_t data_key[PGB_DATA_KEY_SIZE])
{
    struct pgb_object_header header;
    pgb_object_header_init(&header, codec, cipher);
    int rc = PGB_OK;
    if (cipher != PGB_CIPHER_NONE) {
        rc = pgb_data_key_generate(ctx, data_key);
        if (rc == PGB_OK)
            rc = cipher == PGB_CIPHER_WRITER
                     ? pgb_data_key_wrap_for_writer(ctx, &header, data_key, keys->writer)
                     : pgb_data_key_wrap_for_repository(ctx, &header, data_key, keys->repository_public);
    }
    return rc == PGB_OK ? pgb_object_header_encode(ctx, &header, raw, raw_size) : rc;
}

int pgb_object_encoder_new(pgb_object_encoder **out, pgb_ctx *ctx, pgb_sink *destination, const char *name,
                           const struct pgb_keyset *keys, const struct pgb_object_spec *spec)
{
    *out = NULL;
    int cipher = choose_cipher(ctx, keys, spec->seal, name);
    if (cipher < 0)
        return cipher;
    uint8_t raw[PGB_OBJECT_HEADER_MAX_SIZE], data_key[PGB_DATA_KEY_SIZE];
    size_t raw_size = 0;
    int rc = make_header(ctx, keys, spec->codec, cipher, raw, &raw_size, data_key);
    pgb_object_encoder *e = rc == PGB_OK ? calloc(1, sizeof(*e)) : NULL;
    if (rc == PGB_OK && !e)
        rc = pgb_error_nomem(ctx);

    /* Build the chain from its end; each stage owns the next once made. */
    pgb_sink *chain = NULL, *stage = NULL;
    if (rc == PGB_OK)
        rc = pgb_forward_sink_new(ctx, destination, &chain);
    if (rc == PGB_OK) {
        e->forward = chain;
        rc = pgb_sink_write(chain, raw, raw_size); /* the header goes first, as it is */
    }
    if (rc == PGB_OK) {
        rc = cipher != PGB_CIPHER_NONE ? pgb_encrypt_sink_new(ctx, data_key, raw, raw_size, chain, &stage)
                                       : pgb_digest_trailer_sink_new(ctx, raw, raw_size, chain, &stage);
        if (rc == PGB_OK)
            chain = stage;
    }
    if (rc == PGB_OK && !spec->precompressed) {
        rc = pgb_compress_sink_new(ctx, spec->codec, spec->level, chain, &stage);
        if (rc == PGB_OK)
            chain = stage;
    }
    if (rc == PGB_OK && !spec->known_sha256 && !spec->precompressed) {
        rc = pgb_sha256_sink_new(ctx, chain, &stage);
        if (rc == PGB_OK)
            chain = stage;
    }
    OPENSSL_cleanse(data_key, sizeof(data_key));
    if (rc != PGB_OK) {
        pgb_sink_destroy(chain);
        free(e);
        return rc;
    }
    if (spec->known_sha256 || spec->precompressed) {
        e->known_digest = 1;
        if (spec->known_sha256)
            memcpy(e->sha256, spec->known_sha256, sizeof(e->sha256));
    }
    e->ctx = ctx;
    e->head = chain;
    e->header_size = raw_size;
    *out = e;
    return PGB_OK;
}

int pgb_object_encoder_write(pgb_object_encoder *e, const void *data, size_t size)
{
    e->plain_size += size;
    return pgb_sink_write(e->head, data, size);
}

int pgb_object_encoder_finish(pgb_object_encoder *e, struct pgb_object_info *info)
{
    int rc = pgb_sink_finish(e->head);
    if (rc == PGB_OK && info) {
        if (e->known_digest)
            memcpy(info->sha256, e->sha256, sizeof(info->sha256));
        else
            pgb_sha256_sink_digest(e->head, info->sha256);
        info->plain_size = e->plain_size;
        info->stored_size = pgb_forward_sink_bytes(e->forward);
    }
    return rc;
}

void pgb_object_encoder_free(pgb_object_encoder *e)
{
    if (!e)
        return;
    pgb_sink_destroy(e->head);
    free(e);
}

int pgb_object_writer_open(pgb_object_writer **out, pgb_storage *storage, const char *key,
                           const struct pgb_keyset *keys, const struct pgb_object_spec *spec)
{
    pgb_ctx *ctx = storage->ctx;
    *out = NULL;
    pgb_object_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return pgb_error_nomem(ctx);
    int rc = pgb_storage_writer_open(&w->storage_writer, storage, key, spec->flags);
    if (rc == PGB_OK)
        rc = pgb_storage_sink_new(ctx, w->storage_writer, &w->storage_sink);
    if (rc == PGB_OK)
        rc = pgb_object_encoder_new(&w->encoder, ctx, w->storage_sink, key, keys, spec);
    if (rc != PGB_OK) {
        pgb_object_writer_abort(w);
        return rc;
    }
    *out = w;
    return PGB_OK;
}

int pgb_object_writer_write(pgb_object_writer *w, const void *data, size_t size)
{
    return pgb_object_encoder_write(w->encoder, data, size);
}

void pgb_object_writer_abort(pgb_object_writer *w)
{
    if (!w)
        return;
    pgb_object_encoder_free(w->encoder);
    pgb_sink_destroy(w->storage_sink);
    pgb_storage_writer_abort(w->storage_writer);
    free(w);
}

int pgb_object_writer_commit(pgb_object_writer *w, struct pgb_object_info *info)
{
    struct pgb_object_info result;
    int rc = pgb_object_encoder_finish(w->encoder, &result);
    if (rc == PGB_OK) {
        rc = pgb_storage_writer_commit(w->storage_writer);
        w->storage_writer = NULL; /* commit frees it, also on failure */
    }
    if (rc == PGB_OK && info)
        *info = result;
    pgb_object_writer_abort(w);
    return rc;
}

static int key_for_cipher(pgb_ctx *ctx, const struct pgb_keyset *keys, int cipher, const char *key)
{
    if (keys->encrypted && cipher == PGB_CIPHER_NONE)
        return pgb_error_set(ctx, PGB_ECORRUPT, "object %s is not encrypted, in an encrypted repository: "
                             "refusing it (it was not written by libpgbackup)", key);
    if (!keys->encrypted && cipher != PGB_CIPHER_NONE)
        return pgb_error_set(ctx, PGB_ECORRUPT, "object %s is encrypted, in a repository without encryption",
                             key);
    if (cipher == PGB_CIPHER_REPOSITORY && !keys->has_private)
        return pgb_error_set(ctx, PGB_EAUTH, "cannot decrypt %s: it is sealed for the repository key, and this "
                             "process holds only the writer key (give --identity or --passphrase-file)", key);
    if (cipher == PGB_CIPHER_WRITER && !keys->has_writer)
        return pgb_error_set(ctx, PGB_EAUTH, "cannot decrypt %s: it is sealed with the writer key", key);
    return PGB_OK;
}


static int open_reader(pgb_object_reader **out, pgb_storage *storage, const char *object_key, uint64_t offset,
                       uint64_t length, const char *key, const struct pgb_keyset *keys,
                       const uint8_t *expected_sha256, int keep_frame)
{
    pgb_ctx *ctx = storage->ctx;
    *out = NULL;
    pgb_storage_reader *storage_reader = NULL;
    int rc = pgb_storage_reader_open(&storage_reader, storage, object_key, offset, length);
    if (rc != PGB_OK)
        return rc;
    pgb_source *chain = NULL;
    rc = pgb_storage_source_new(ctx, storage_reader, &chain);
    if (rc != PGB_OK) {
        pgb_storage_reader_close(storage_reader);
        return rc;
    }
    struct pgb_object_header header;
    uint8_t raw[PGB_OBJECT_HEADER_MAX_SIZE];
    size_t raw_size = 0;
    rc = pgb_object_header_read(ctx, key, chain, &header, raw, &raw_size);
    if (rc == PGB_OK)
        rc = key_for_cipher(ctx, keys, header.cipher, key);
    pgb_source *stage = NULL;
    if (rc == PGB_OK && header.cipher == PGB_CIPHER_NONE) {
        rc = pgb_digest_trailer_source_new(ctx, raw, raw_size, key, chain, &stage);
        if (rc == PGB_OK)
            chain = stage;
    } else if (rc == PGB_OK) {
        uint8_t data_key[PGB_DATA_KEY_SIZE];
        rc = pgb_data_key_unwrap(ctx, key, &header, keys->has_private ? keys->repository_private : NULL,
                                 keys->repository_public, keys->has_writer ? keys->writer : NULL, data_key);
        if (rc == PGB_OK)
            rc = pgb_decrypt_source_new(ctx, data_key, raw, raw_size, key, chain, &stage);
        if (rc == PGB_OK)
            chain = stage;
        OPENSSL_cleanse(data_key, sizeof(data_key));
    }
    pgb_source *body = chain;
    if (rc == PGB_OK && !keep_frame) {
        rc = pgb_decompress_source_new(ctx, header.codec, chain, &stage);
        if (rc == PGB_OK)
            chain = stage;
    }
    /* A whole object is always hashed (its digest may be asked for); a range only to check it. */
    if (rc == PGB_OK && !keep_frame && (expected_sha256 || length == 0)) {
        rc = pgb_sha256_source_new(ctx, chain, expected_sha256, key, &stage);
        if (rc == PGB_OK)
            chain = stage;
    }
    pgb_object_reader *r = rc == PGB_OK ? calloc(1, sizeof(*r)) : NULL;
    if (rc == PGB_OK && (!r || !(r->key = pgb_text_dup(key)))) {
        free(r);
        rc = pgb_error_nomem(ctx);
    }
    if (rc != PGB_OK) {
        pgb_source_destroy(chain);
        return rc;
    }
    r->ctx = ctx;
    r->tail = chain;
    r->body = body;
    r->hashed = !keep_frame && (expected_sha256 || length == 0);
    r->codec = header.codec;
    *out = r;
    return PGB_OK;
}

int pgb_object_reader_open(pgb_object_reader **out, pgb_storage *storage, const char *key,
                           const struct pgb_keyset *keys, const uint8_t *expected_sha256)
{
    return open_reader(out, storage, key, 0, 0, key, keys, expected_sha256, 0);
}

int pgb_object_reader_open_range(pgb_object_reader **out, pgb_storage *storage, const char *object_key,
                                 uint64_t offset, uint64_t length, const char *key, const struct pgb_keyset *keys,
                                 const uint8_t *expected_sha256)
{
    return open_reader(out, storage, object_key, offset, length, key, keys, expected_sha256, 0);
}

int pgb_object_reader_open_frame(pgb_object_reader **out, pgb_storage *storage, const char *object_key,
                                 uint64_t offset, uint64_t length, const char *key, const struct pgb_keyset *keys)
{
    return open_reader(out, storage, object_key, offset, length, key, keys, NULL, 1);
}

int pgb_object_reader_codec(const pgb_object_reader *r)
{
    return r->codec;
}

/*
 * At the end of the plaintext the body must be at its end too: this runs the
 * trailer or final-chunk checks even if a codec stopped reading at the end of
 * its frame, and refuses bytes after it.
 */
static int check_body_ended(pgb_object_reader *r)
{
    uint8_t extra;
    size_t got = 0;
    int rc = pgb_source_read(r->body, &extra, 1, &got);
    if (rc == PGB_OK && got > 0)
        rc = pgb_error_set(r->ctx, PGB_ECORRUPT, "object %s is damaged: it has data after the end of its "
                           "compressed stream", r->key);
    return rc;
}

int pgb_object_reader_read(pgb_object_reader *r, void *buffer, size_t size, size_t *got)
{
    int rc = pgb_source_read(r->tail, buffer, size, got);
    if (rc == PGB_OK && *got == 0 && size > 0)
        rc = check_body_ended(r);
    /* Codec messages do not know which object they decode: say it. */
    if (rc == PGB_ECORRUPT && !strstr(pgb_ctx_errmsg(r->ctx), r->key))
        pgb_error_prefix(r->ctx, "object %s is damaged", r->key);
    return rc;
}

int pgb_object_reader_digest(const pgb_object_reader *r, uint8_t out[32])
{
    if (!r->hashed)
        return pgb_error_set(r->ctx, PGB_EINVALID, "object %s was read without computing its digest", r->key);
    return pgb_sha256_source_digest(r->tail, out);
}

void pgb_object_reader_close(pgb_object_reader *r)
{
    if (!r)
        return;
    pgb_source_destroy(r->tail);
    free(r->key);
    free(r);
}

int pgb_object_put(pgb_storage *storage, const char *key, const struct pgb_keyset *keys,
                   const struct pgb_object_spec *spec, const void *data, size_t size,
                   struct pgb_object_info *info)
{
    pgb_object_writer *w;
    int rc = pgb_object_writer_open(&w, storage, key, keys, spec);
    if (rc != PGB_OK)
        return rc;
    rc = pgb_object_writer_write(w, data, size);
    if (rc != PGB_OK) {
        pgb_object_writer_abort(w);
        return rc;
    }
    return pgb_object_writer_commit(w, info);
}

static int read_from_object(void *reader, void *buffer, size_t size, size_t *got)
{
    return pgb_object_reader_read(reader, buffer, size, got);
}

int pgb_object_get(pgb_storage *storage, const char *key, const struct pgb_keyset *keys, void **data,
                   size_t *size)
{
    *data = NULL;
    *size = 0;
    pgb_object_reader *r;
    int rc = pgb_object_reader_open(&r, storage, key, keys, NULL);
    if (rc != PGB_OK)
        return rc;
    rc = pgb_read_all(storage->ctx, read_from_object, r, data, size);
    pgb_object_reader_close(r);
    return rc;
}
