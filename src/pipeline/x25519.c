#include "pipeline/x25519.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/crypto_error.h"

int pgb_x25519_generate(pgb_ctx *ctx, uint8_t public_key[PGB_X25519_KEY_SIZE],
                        uint8_t private_key[PGB_X25519_KEY_SIZE])
{
    int rc = PGB_OK;
    size_t public_size = PGB_X25519_KEY_SIZE, private_size = PGB_X25519_KEY_SIZE;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    if (!pkey || EVP_PKEY_get_raw_private_key(pkey, private_key, &private_size) != 1 ||
        EVP_PKEY_get_raw_public_key(pkey, public_key, &public_size) != 1) {
        OPENSSL_cleanse(private_key, PGB_X25519_KEY_SIZE);
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot make an X25519 key pair");
    }
    EVP_PKEY_free(pkey);
    return rc;
}

int pgb_x25519_public_from_private(pgb_ctx *ctx, const uint8_t private_key[PGB_X25519_KEY_SIZE],
                                   uint8_t public_key[PGB_X25519_KEY_SIZE])
{
    int rc = PGB_OK;
    size_t size = PGB_X25519_KEY_SIZE;
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, private_key, PGB_X25519_KEY_SIZE);
    if (!pkey || EVP_PKEY_get_raw_public_key(pkey, public_key, &size) != 1)
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot compute an X25519 public key");
    EVP_PKEY_free(pkey);
    return rc;
}

/*
 * The private key as an EVP_PKEY, its public half given: importing the private
 * key alone makes OpenSSL compute the public one, a scalar multiplication as
 * costly as the agreement itself (and one per object read).
 */
static EVP_PKEY *private_key_with_public(const uint8_t *own_private, const uint8_t *own_public)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *import = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)own_private, 32),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)own_public, 32),
        OSSL_PARAM_construct_end(),
    };
    if (!import || EVP_PKEY_fromdata_init(import) != 1 ||
        EVP_PKEY_fromdata(import, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(import);
    return pkey;
}

/*
 * X25519(own_private, peer_public) into secret; PGB_EINVALID for a small-order
 * peer. own_public only spares OpenSSL computing it: the agreement uses the
 * private scalar and the peer's point alone.
 */
static int shared_secret(pgb_ctx *ctx, const uint8_t *own_private, const uint8_t *own_public,
                         const uint8_t *peer_public, uint8_t secret[32])
{
    int rc = PGB_OK;
    size_t size = 32;
    EVP_PKEY_CTX *derive = NULL;
    EVP_PKEY *own = private_key_with_public(own_private, own_public);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_public, 32);
    if (!own || !peer || !(derive = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL)) ||
        EVP_PKEY_derive_init(derive) != 1 || EVP_PKEY_derive_set_peer(derive, peer) != 1) {
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot prepare X25519 key agreement");
        goto done;
    }
    /* OpenSSL refuses an all-zero result (RFC 7748 section 6.1): a bad peer key. */
    if (EVP_PKEY_derive(derive, secret, &size) != 1 || size != 32) {
        rc = pgb_crypto_error(ctx, PGB_EINVALID, "X25519 key agreement failed");
        OPENSSL_cleanse(secret, 32);
    }
done:
    EVP_PKEY_CTX_free(derive);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(own);
    return rc;
}

static int hkdf_sha256(pgb_ctx *ctx, const uint8_t *ikm, size_t ikm_size, const uint8_t *salt,
                       size_t salt_size, const char *info, uint8_t key[32])
{
    int rc = PGB_OK;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_size),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_size),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    if (!kctx || EVP_KDF_derive(kctx, key, 32, params) != 1)
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot derive a key with HKDF-SHA256");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

int pgb_x25519_agree(pgb_ctx *ctx, const uint8_t own_private[PGB_X25519_KEY_SIZE],
                     const uint8_t peer_public[PGB_X25519_KEY_SIZE],
                     const uint8_t ephemeral_public[PGB_X25519_KEY_SIZE],
                     const uint8_t recipient_public[PGB_X25519_KEY_SIZE], const char *info,
                     uint8_t key[32])
{
    uint8_t secret[32];
    uint8_t salt[2 * PGB_X25519_KEY_SIZE];
    memcpy(salt, ephemeral_public, PGB_X25519_KEY_SIZE);
    memcpy(salt + PGB_X25519_KEY_SIZE, recipient_public, PGB_X25519_KEY_SIZE);
    /* The salt holds both public keys: own_private's is the one that is not the peer's. */
    const uint8_t *own_public =
        memcmp(peer_public, ephemeral_public, PGB_X25519_KEY_SIZE) == 0 ? recipient_public : ephemeral_public;
    int rc = shared_secret(ctx, own_private, own_public, peer_public, secret);
    if (rc == PGB_OK)
        rc = hkdf_sha256(ctx, secret, sizeof(secret), salt, sizeof(salt), info, key);
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}
