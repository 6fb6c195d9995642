#include "pipeline/crypt_stream.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "pipeline/aes_gcm.h"
#include "pipeline/crypto_error.h"

#define SEALED_CHUNK_SIZE (PGB_CRYPT_CHUNK_SIZE + PGB_CRYPT_TAG_SIZE)

uint64_t pgb_crypt_body_size(uint64_t plain_size)
{
    /* Every full chunk, then a final chunk that is never full (maybe empty). */
    uint64_t chunks = plain_size / PGB_CRYPT_CHUNK_SIZE + 1;
    return plain_size + chunks * PGB_CRYPT_TAG_SIZE;
}

/* What both directions keep: key, header as additional data, next chunk's index. */
struct chunk_cipher {
    EVP_CIPHER_CTX *cipher;
    uint8_t key[32];
    uint8_t *aad;
    size_t aad_len;
    uint64_t index;
};

static int chunk_cipher_init(pgb_ctx *ctx, struct chunk_cipher *c, const uint8_t key[32],
                             const uint8_t *aad, size_t aad_len)
{
    memcpy(c->key, key, sizeof(c->key));
    c->aad_len = aad_len;
    c->aad = malloc(aad_len ? aad_len : 1);
    if (!c->aad)
        return pgb_error_nomem(ctx);
    if (aad_len)
        memcpy(c->aad, aad, aad_len);
    c->cipher = EVP_CIPHER_CTX_new();
    if (!c->cipher)
        return pgb_crypto_error(ctx, PGB_ERROR, "cannot make an AES-256-GCM context");
    return PGB_OK;
}

static void chunk_cipher_free(struct chunk_cipher *c)
{
    OPENSSL_cleanse(c->key, sizeof(c->key));
    EVP_CIPHER_CTX_free(c->cipher);
    free(c->aad);
}

/* Nonce of chunk i: be64(i) || be32(final ? 1 : 0), spec "Body". */
static void chunk_nonce(uint64_t index, int final, uint8_t nonce[PGB_AES_GCM_NONCE_SIZE])
{
    for (int i = 0; i < 8; i++)
        nonce[i] = (uint8_t)(index >> (56 - 8 * i));
    nonce[8] = nonce[9] = nonce[10] = 0;
    nonce[11] = final ? 1 : 0;
}

/* ---- writing ---- */

struct encrypt_sink {
    pgb_sink base;
    struct chunk_cipher c;
    int status; /* first failure, repeated to every later call */
    int finished;
    size_t filled; /* plaintext bytes waiting in buffer */
    uint8_t buffer[SEALED_CHUNK_SIZE];
};

/* Seal the buffered plaintext in place as the next chunk and pass it on. */
static int seal_chunk(struct encrypt_sink *s, int final)
{
    uint8_t nonce[PGB_AES_GCM_NONCE_SIZE];
    chunk_nonce(s->c.index, final, nonce);
    if (pgb_aes_gcm_seal(s->c.cipher, s->c.key, nonce, s->c.aad, s->c.aad_len, s->buffer, s->filled,
                         s->buffer) != 0)
        return pgb_crypto_error(s->base.ctx, PGB_ERROR, "cannot encrypt an object chunk");
    int rc = pgb_sink_write(s->base.next, s->buffer, s->filled + PGB_CRYPT_TAG_SIZE);
    s->c.index++;
    s->filled = 0;
    return rc;
}

static int encrypt_sink_usable(struct encrypt_sink *s, const char *call)
{
    if (s->status != PGB_OK)
        return pgb_error_set(s->base.ctx, s->status,
                             "cannot %s: the encrypted stream failed earlier", call);
    if (s->finished)
        return pgb_error_set(s->base.ctx, PGB_EINVALID,
                             "cannot %s: the encrypted stream is finished", call);
    return PGB_OK;
}

static int encrypt_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct encrypt_sink *s = (struct encrypt_sink *)sink;
    int rc = encrypt_sink_usable(s, "write");
    while (rc == PGB_OK && size > 0) {
        /* A full chunk waits for more data: only then is it known not to be final. */
        if (s->filled == PGB_CRYPT_CHUNK_SIZE && (rc = seal_chunk(s, 0)) != PGB_OK)
            break;
        size_t n = PGB_CRYPT_CHUNK_SIZE - s->filled;
        if (n > size)
            n = size;
        memcpy(s->buffer + s->filled, data, n);
        s->filled += n;
        data += n;
        size -= n;
    }
    if (rc != PGB_OK && s->status == PGB_OK && !s->finished)
        s->status = rc;
    return rc;
}

static int encrypt_sink_finish(pgb_sink *sink)
{
    struct encrypt_sink *s = (struct encrypt_sink *)sink;
    int rc = encrypt_sink_usable(s, "finish");
    if (rc != PGB_OK)
        return rc;
    /* The final chunk is never full (spec "Body"): after a full one comes an empty one. */
    if (s->filled == PGB_CRYPT_CHUNK_SIZE)
        rc = seal_chunk(s, 0);
    if (rc == PGB_OK)
        rc = seal_chunk(s, 1);
    if (rc == PGB_OK)
        rc = pgb_sink_finish(s->base.next);
    if (rc == PGB_OK)
        s->finished = 1;
    else
        s->status = rc;
    return rc;
}

static void encrypt_sink_destroy(pgb_sink *sink)
{
    struct encrypt_sink *s = (struct encrypt_sink *)sink;
    pgb_sink_destroy(s->base.next);
    chunk_cipher_free(&s->c);
    OPENSSL_cleanse(s->buffer, sizeof(s->buffer));
    free(s);
}

static const struct pgb_sink_ops encrypt_sink_ops = {encrypt_sink_write, encrypt_sink_finish,
                                                     encrypt_sink_destroy};

int pgb_encrypt_sink_new(pgb_ctx *ctx, const uint8_t data_key[32], const uint8_t *aad,
                         size_t aad_len, pgb_sink *next, pgb_sink **out)
{
    struct encrypt_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    int rc = chunk_cipher_init(ctx, &s->c, data_key, aad, aad_len);
    if (rc != PGB_OK) {
        chunk_cipher_free(&s->c);
        free(s);
        return rc;
    }
    s->base = (pgb_sink){&encrypt_sink_ops, ctx, next};
    *out = &s->base;
    return PGB_OK;
}

/* ---- reading ---- */

struct decrypt_source {
    pgb_source base;
    struct chunk_cipher c;
    char *name;
    int status;               /* first failure, repeated to every later read */
    int at_end;               /* the final chunk has been authenticated */
    size_t offset, available; /* authenticated plaintext not yet given out */
    uint8_t buffer[SEALED_CHUNK_SIZE];
};

/* Read, authenticate and decrypt (in place) the next chunk. */
static int open_chunk(struct decrypt_source *s)
{
    pgb_ctx *ctx = s->base.ctx;
    uint64_t index = s->c.index;
    size_t got = 0;
    int rc = pgb_source_read_full(s->base.upstream, s->buffer, sizeof(s->buffer), &got);
    if (rc != PGB_OK)
        return rc;
    if (got == 0 && index == 0)
        return pgb_error_set(ctx, PGB_ECORRUPT, "object %s is truncated: its body is missing",
                             s->name);
    if (got == 0)
        return pgb_error_set(ctx, PGB_ECORRUPT,
                             "object %s is truncated: it ends after chunk %" PRIu64
                             ", which is not its final chunk",
                             s->name, index - 1);
    if (got < PGB_CRYPT_TAG_SIZE)
        return pgb_error_set(ctx, PGB_ECORRUPT,
                             "object %s is truncated: chunk %" PRIu64 " has %zu bytes, "
                             "less than its tag",
                             s->name, index, got);
    /* Only the final chunk is short (spec "Body"); a full one is never final. */
    int final = got < sizeof(s->buffer);
    uint8_t nonce[PGB_AES_GCM_NONCE_SIZE];
    chunk_nonce(index, final, nonce);
    rc = pgb_aes_gcm_open(s->c.cipher, s->c.key, nonce, s->c.aad, s->c.aad_len, s->buffer, got,
                          s->buffer);
    if (rc > 0)
        return pgb_error_set(ctx, PGB_ECORRUPT,
                             "object %s is damaged: chunk %" PRIu64 " fails authentication",
                             s->name, index);
    if (rc < 0)
        return pgb_crypto_error(ctx, PGB_ERROR, "cannot decrypt an object chunk");
    s->c.index++;
    s->offset = 0;
    s->available = got - PGB_CRYPT_TAG_SIZE;
    s->at_end = final;
    return PGB_OK;
}

static int decrypt_source_read(pgb_source *source, uint8_t *data, size_t size, size_t *got)
{
    struct decrypt_source *s = (struct decrypt_source *)source;
    *got = 0;
    if (s->status != PGB_OK)
        return pgb_error_set(source->ctx, s->status, "cannot read object %s: it failed earlier",
                             s->name);
    while (size > 0 && s->offset == s->available && !s->at_end) {
        int rc = open_chunk(s);
        if (rc != PGB_OK) {
            s->status = rc;
            return rc;
        }
    }
    size_t n = s->available - s->offset;
    if (n > size)
        n = size;
    if (n)
        memcpy(data, s->buffer + s->offset, n);
    s->offset += n;
    *got = n;
    return PGB_OK;
}

static void decrypt_source_destroy(pgb_source *source)
{
    struct decrypt_source *s = (struct decrypt_source *)source;
    pgb_source_destroy(s->base.upstream);
    chunk_cipher_free(&s->c);
    OPENSSL_cleanse(s->buffer, sizeof(s->buffer));
    free(s->name);
    free(s);
}

static const struct pgb_source_ops decrypt_source_ops = {decrypt_source_read,
                                                         decrypt_source_destroy};

int pgb_decrypt_source_new(pgb_ctx *ctx, const uint8_t data_key[32], const uint8_t *aad,
                           size_t aad_len, const char *object_name, pgb_source *upstream,
                           pgb_source **out)
{
    struct decrypt_source *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    int rc = chunk_cipher_init(ctx, &s->c, data_key, aad, aad_len);
    if (rc == PGB_OK && !(s->name = pgb_text_dup(object_name ? object_name : "(unnamed)")))
        rc = pgb_error_nomem(ctx);
    if (rc != PGB_OK) {
        chunk_cipher_free(&s->c);
        free(s->name);
        free(s);
        return rc;
    }
    s->base = (pgb_source){&decrypt_source_ops, ctx, upstream};
    *out = &s->base;
    return PGB_OK;
}
