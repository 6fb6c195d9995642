/*
 * Wrapping each object's data key into its header (doc/repository-format.md,
 * "Wrapping the data key").
 */
#include "pipeline/key_wrap.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/aes_gcm.h"
#include "pipeline/crypto_error.h"

#define OBJECT_KEY_INFO "pgbackup object key v1"

int pgb_data_key_generate(pgb_ctx *ctx, uint8_t key[PGB_DATA_KEY_SIZE])
{
    if (RAND_bytes(key, PGB_DATA_KEY_SIZE) != 1)
        return pgb_crypto_error(ctx, PGB_ERROR, "cannot make a random data key");
    return PGB_OK;
}

/* Additional data of a wrap: the first 8 header bytes || ephemeral public or nonce. */
static size_t wrap_aad(const struct pgb_object_header *header, const uint8_t *tail,
                       size_t tail_size, uint8_t aad[PGB_OBJECT_HEADER_PREFIX_SIZE + 32])
{
    pgb_object_header_prefix(header, aad);
    memcpy(aad + PGB_OBJECT_HEADER_PREFIX_SIZE, tail, tail_size);
    return PGB_OBJECT_HEADER_PREFIX_SIZE + tail_size;
}

int pgb_data_key_wrap_for_repository(pgb_ctx *ctx, struct pgb_object_header *header,
                                     const uint8_t data_key[PGB_DATA_KEY_SIZE],
                                     const uint8_t repository_public[PGB_X25519_KEY_SIZE])
{
    static const uint8_t zero_nonce[PGB_AES_GCM_NONCE_SIZE];
    uint8_t ephemeral_private[PGB_X25519_KEY_SIZE], wrap_key[32];
    uint8_t aad[PGB_OBJECT_HEADER_PREFIX_SIZE + 32];
    header->version = PGB_OBJECT_FORMAT_VERSION;
    header->cipher = PGB_CIPHER_REPOSITORY;
    int rc = pgb_x25519_generate(ctx, header->ephemeral_public, ephemeral_private);
    if (rc == PGB_OK)
        rc = pgb_x25519_agree(ctx, ephemeral_private, repository_public, header->ephemeral_public,
                              repository_public, OBJECT_KEY_INFO, wrap_key);
    if (rc == PGB_EINVALID)
        rc = pgb_error_set(ctx, PGB_EINVALID,
                           "cannot wrap a data key: the repository public key is not usable");
    if (rc != PGB_OK)
        goto done;
    /* A zero nonce is safe: the wrap key comes from a fresh ephemeral key, used once. */
    size_t aad_size = wrap_aad(header, header->ephemeral_public, 32, aad);
    if (pgb_aes_gcm_seal(NULL, wrap_key, zero_nonce, aad, aad_size, data_key, PGB_DATA_KEY_SIZE,
                         header->wrapped_key) != 0)
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot wrap a data key");
done:
    OPENSSL_cleanse(ephemeral_private, sizeof(ephemeral_private));
    OPENSSL_cleanse(wrap_key, sizeof(wrap_key));
    return rc;
}

int pgb_data_key_wrap_for_writer(pgb_ctx *ctx, struct pgb_object_header *header,
                                 const uint8_t data_key[PGB_DATA_KEY_SIZE],
                                 const uint8_t writer_key[PGB_WRITER_KEY_SIZE])
{
    uint8_t aad[PGB_OBJECT_HEADER_PREFIX_SIZE + 32];
    header->version = PGB_OBJECT_FORMAT_VERSION;
    header->cipher = PGB_CIPHER_WRITER;
    /* One writer key wraps many data keys, so each wrap needs its own random nonce. */
    if (RAND_bytes(header->wrap_nonce, sizeof(header->wrap_nonce)) != 1)
        return pgb_crypto_error(ctx, PGB_ERROR, "cannot make a random nonce");
    size_t aad_size = wrap_aad(header, header->wrap_nonce, sizeof(header->wrap_nonce), aad);
    if (pgb_aes_gcm_seal(NULL, writer_key, header->wrap_nonce, aad, aad_size, data_key,
                         PGB_DATA_KEY_SIZE, header->wrapped_key) != 0)
        return pgb_crypto_error(ctx, PGB_ERROR, "cannot wrap a data key");
    return PGB_OK;
}

static int unwrap_damaged(pgb_ctx *ctx, const char *object_name)
{
    return pgb_error_set(ctx, PGB_ECORRUPT,
                         "object %s is damaged: its data key fails authentication", object_name);
}

static int unwrap_repository(pgb_ctx *ctx, const char *object_name,
                             const struct pgb_object_header *header, const uint8_t *repository_private,
                             const uint8_t *repository_public, uint8_t *data_key)
{
    static const uint8_t zero_nonce[PGB_AES_GCM_NONCE_SIZE];
    uint8_t wrap_key[32];
    uint8_t aad[PGB_OBJECT_HEADER_PREFIX_SIZE + 32];
    int rc = pgb_x25519_agree(ctx, repository_private, header->ephemeral_public,
                              header->ephemeral_public, repository_public, OBJECT_KEY_INFO,
                              wrap_key);
    /* A small-order ephemeral key can only come from damage or forgery. */
    if (rc == PGB_EINVALID)
        rc = unwrap_damaged(ctx, object_name);
    if (rc != PGB_OK)
        goto done;
    size_t aad_size = wrap_aad(header, header->ephemeral_public, 32, aad);
    int opened = pgb_aes_gcm_open(NULL, wrap_key, zero_nonce, aad, aad_size, header->wrapped_key,
                                  PGB_WRAPPED_KEY_SIZE, data_key);
    if (opened > 0)
        rc = unwrap_damaged(ctx, object_name);
    else if (opened < 0)
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot unwrap a data key");
done:
    OPENSSL_cleanse(wrap_key, sizeof(wrap_key));
    return rc;
}

static int unwrap_writer(pgb_ctx *ctx, const char *object_name,
                         const struct pgb_object_header *header, const uint8_t *writer_key,
                         uint8_t *data_key)
{
    uint8_t aad[PGB_OBJECT_HEADER_PREFIX_SIZE + 32];
    size_t aad_size = wrap_aad(header, header->wrap_nonce, sizeof(header->wrap_nonce), aad);
    int opened = pgb_aes_gcm_open(NULL, writer_key, header->wrap_nonce, aad, aad_size,
                                  header->wrapped_key, PGB_WRAPPED_KEY_SIZE, data_key);
    if (opened > 0)
        return unwrap_damaged(ctx, object_name);
    if (opened < 0)
        return pgb_crypto_error(ctx, PGB_ERROR, "cannot unwrap a data key");
    return PGB_OK;
}

int pgb_data_key_unwrap(pgb_ctx *ctx, const char *object_name,
                        const struct pgb_object_header *header, const uint8_t *repository_private,
                        const uint8_t *repository_public, const uint8_t *writer_key,
                        uint8_t data_key[PGB_DATA_KEY_SIZE])
{
    if (header->cipher == PGB_CIPHER_REPOSITORY && repository_private && repository_public)
        return unwrap_repository(ctx, object_name, header, repository_private, repository_public, data_key);
    if (header->cipher == PGB_CIPHER_WRITER && writer_key)
        return unwrap_writer(ctx, object_name, header, writer_key, data_key);
    return pgb_error_set(ctx, PGB_EINVALID,
                         "cannot unwrap the data key of object %s: cipher %u needs %s", object_name,
                         header->cipher,
                         header->cipher == PGB_CIPHER_REPOSITORY ? "the repository private key"
                         : header->cipher == PGB_CIPHER_WRITER   ? "the writer key"
                                                                 : "no data key");
}
