/*
 * Sealing the keyring's secret (repository private key || writer key) for a
 * passphrase or for X25519 recipients (doc/repository-format.md, "Keys").
 * The spec names no additional data for these seals, so there is none.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/aes_gcm.h"
#include "pipeline/crypto_error.h"
#include "pipeline/key_wrap.h"

#define RECIPIENT_INFO "pgbackup recipient v1"
#define SECRET_SIZE (PGB_X25519_KEY_SIZE + PGB_WRITER_KEY_SIZE)
#define WRONG_KEY                                                                                  \
    "cannot decrypt: wrong key (passphrase or identity does not match this repository)"
/* scrypt needs about 128 * n * r bytes; more than this is refused, not attempted. */
#define SCRYPT_MAX_MEMORY (UINT64_C(1) << 30)

static void secret_to_bytes(const struct pgb_keyring_secret *secret, uint8_t out[SECRET_SIZE])
{
    memcpy(out, secret->private_key, PGB_X25519_KEY_SIZE);
    memcpy(out + PGB_X25519_KEY_SIZE, secret->writer_key, PGB_WRITER_KEY_SIZE);
}

static void secret_from_bytes(const uint8_t in[SECRET_SIZE], struct pgb_keyring_secret *secret)
{
    memcpy(secret->private_key, in, PGB_X25519_KEY_SIZE);
    memcpy(secret->writer_key, in + PGB_X25519_KEY_SIZE, PGB_WRITER_KEY_SIZE);
}

/* bad_code: PGB_EINVALID when the caller chose the parameters, PGB_ECORRUPT when read. */
static int scrypt_params_check(pgb_ctx *ctx, const struct pgb_scrypt_params *params, int bad_code)
{
    uint64_t n = params->n, r = params->r, p = params->p;
    if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0)
        return pgb_error_set(ctx, bad_code,
                             "scrypt parameters n=%llu r=%llu p=%llu are not valid (n is a power "
                             "of two above 1, r and p at least 1)",
                             (unsigned long long)n, (unsigned long long)r, (unsigned long long)p);
    if (n > SCRYPT_MAX_MEMORY / 128 / r || p > 1024)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "scrypt parameters n=%llu r=%llu p=%llu need more memory or time "
                             "than this library allows (128*n*r at most 1 GiB, p at most 1024)",
                             (unsigned long long)n, (unsigned long long)r, (unsigned long long)p);
    return PGB_OK;
}

static int scrypt_key(pgb_ctx *ctx, const char *passphrase, size_t passphrase_len,
                      const struct pgb_scrypt_params *params, const uint8_t *salt, uint8_t key[32])
{
    int rc = PGB_OK;
    uint64_t n = params->n, maxmem = SCRYPT_MAX_MEMORY + (UINT64_C(1) << 20) * params->p;
    uint32_t r = params->r, p = params->p;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM list[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)passphrase,
                                          passphrase_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, PGB_KEYRING_SALT_SIZE),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    if (!kctx || EVP_KDF_derive(kctx, key, 32, list) != 1)
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot derive a key from the passphrase (scrypt)");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

int pgb_keyring_seal_passphrase(pgb_ctx *ctx, const struct pgb_keyring_secret *secret,
                                const char *passphrase, size_t passphrase_len,
                                const struct pgb_scrypt_params *params,
                                uint8_t salt[PGB_KEYRING_SALT_SIZE],
                                uint8_t sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE])
{
    uint8_t key[32], plain[SECRET_SIZE];
    if (passphrase_len == 0)
        return pgb_error_set(ctx, PGB_EINVALID, "cannot seal the keyring: the passphrase is empty");
    int rc = scrypt_params_check(ctx, params, PGB_EINVALID);
    if (rc != PGB_OK)
        return rc;
    if (RAND_bytes(salt, PGB_KEYRING_SALT_SIZE) != 1 ||
        RAND_bytes(sealed, PGB_AES_GCM_NONCE_SIZE) != 1)
        return pgb_crypto_error(ctx, PGB_ERROR, "cannot make a random salt and nonce");
    rc = scrypt_key(ctx, passphrase, passphrase_len, params, salt, key);
    if (rc == PGB_OK) {
        secret_to_bytes(secret, plain);
        if (pgb_aes_gcm_seal(NULL, key, sealed, NULL, 0, plain, SECRET_SIZE,
                             sealed + PGB_AES_GCM_NONCE_SIZE) != 0)
            rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot seal the keyring");
    }
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

/* Open sealed (ciphertext || tag) into secret; a tag mismatch is a wrong key. */
static int open_secret(pgb_ctx *ctx, const uint8_t key[32], const uint8_t *nonce,
                       const uint8_t *sealed, struct pgb_keyring_secret *secret)
{
    uint8_t plain[SECRET_SIZE];
    int opened = pgb_aes_gcm_open(NULL, key, nonce, NULL, 0, sealed,
                                  SECRET_SIZE + PGB_AES_GCM_TAG_SIZE, plain);
    int rc = PGB_OK;
    if (opened > 0)
        rc = pgb_error_set(ctx, PGB_EAUTH, WRONG_KEY);
    else if (opened < 0)
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot open the keyring");
    else
        secret_from_bytes(plain, secret);
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

int pgb_keyring_unseal_passphrase(pgb_ctx *ctx, const char *passphrase, size_t passphrase_len,
                                  const struct pgb_scrypt_params *params,
                                  const uint8_t salt[PGB_KEYRING_SALT_SIZE],
                                  const uint8_t sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE],
                                  struct pgb_keyring_secret *secret)
{
    uint8_t key[32];
    int rc = scrypt_params_check(ctx, params, PGB_ECORRUPT);
    if (rc == PGB_OK)
        rc = scrypt_key(ctx, passphrase ? passphrase : "", passphrase_len, params, salt, key);
    if (rc == PGB_OK)
        rc = open_secret(ctx, key, sealed, sealed + PGB_AES_GCM_NONCE_SIZE, secret);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int pgb_keyring_seal_recipient(pgb_ctx *ctx, const struct pgb_keyring_secret *secret,
                               const uint8_t recipient_public[PGB_X25519_KEY_SIZE],
                               uint8_t ephemeral_public[PGB_X25519_KEY_SIZE],
                               uint8_t sealed[PGB_KEYRING_RECIPIENT_SEALED_SIZE])
{
    static const uint8_t zero_nonce[PGB_AES_GCM_NONCE_SIZE];
    uint8_t ephemeral_private[PGB_X25519_KEY_SIZE], key[32], plain[SECRET_SIZE];
    int rc = pgb_x25519_generate(ctx, ephemeral_public, ephemeral_private);
    if (rc == PGB_OK)
        rc = pgb_x25519_agree(ctx, ephemeral_private, recipient_public, ephemeral_public,
                              recipient_public, RECIPIENT_INFO, key);
    if (rc == PGB_EINVALID)
        rc = pgb_error_set(ctx, PGB_EINVALID,
                           "cannot seal the keyring: the recipient public key is not usable");
    if (rc == PGB_OK) {
        /* A zero nonce is safe: the key comes from a fresh ephemeral key, used once. */
        secret_to_bytes(secret, plain);
        if (pgb_aes_gcm_seal(NULL, key, zero_nonce, NULL, 0, plain, SECRET_SIZE, sealed) != 0)
            rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot seal the keyring");
    }
    OPENSSL_cleanse(ephemeral_private, sizeof(ephemeral_private));
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

int pgb_keyring_unseal_recipient(pgb_ctx *ctx, const uint8_t recipient_private[PGB_X25519_KEY_SIZE],
                                 const uint8_t ephemeral_public[PGB_X25519_KEY_SIZE],
                                 const uint8_t sealed[PGB_KEYRING_RECIPIENT_SEALED_SIZE],
                                 struct pgb_keyring_secret *secret)
{
    static const uint8_t zero_nonce[PGB_AES_GCM_NONCE_SIZE];
    uint8_t recipient_public[PGB_X25519_KEY_SIZE], key[32];
    int rc = pgb_x25519_public_from_private(ctx, recipient_private, recipient_public);
    if (rc == PGB_OK)
        rc = pgb_x25519_agree(ctx, recipient_private, ephemeral_public, ephemeral_public,
                              recipient_public, RECIPIENT_INFO, key);
    /* A damaged ephemeral key looks like any other mismatch to the user. */
    if (rc == PGB_EINVALID)
        rc = pgb_error_set(ctx, PGB_EAUTH, WRONG_KEY);
    if (rc == PGB_OK)
        rc = open_secret(ctx, key, zero_nonce, sealed, secret);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}
