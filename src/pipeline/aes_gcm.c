#include "pipeline/aes_gcm.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>

/* OpenSSL counts in int; every piece we pass is far smaller, but check. */
static int fits_int(size_t n)
{
    return n <= (size_t)INT_MAX;
}

static int add_aad(EVP_CIPHER_CTX *c, const uint8_t *aad, size_t aad_size)
{
    int n = 0;
    if (aad_size == 0)
        return 1;
    return fits_int(aad_size) && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_size) == 1;
}

static int seal(EVP_CIPHER_CTX *c, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                size_t aad_size, const uint8_t *plain, size_t size, uint8_t *sealed)
{
    int n = 0;
    if (!fits_int(size) || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        !add_aad(c, aad, aad_size))
        return -1;
    if (size > 0 && EVP_EncryptUpdate(c, sealed, &n, plain, (int)size) != 1)
        return -1;
    if (EVP_EncryptFinal_ex(c, sealed + size, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, PGB_AES_GCM_TAG_SIZE, sealed + size) != 1)
        return -1;
    return 0;
}

static int open_sealed(EVP_CIPHER_CTX *c, const uint8_t *key, const uint8_t *nonce,
                       const uint8_t *aad, size_t aad_size, const uint8_t *sealed,
                       size_t sealed_size, uint8_t *plain)
{
    int n = 0;
    size_t size = sealed_size - PGB_AES_GCM_TAG_SIZE;
    uint8_t tag[PGB_AES_GCM_TAG_SIZE];
    memcpy(tag, sealed + size, sizeof(tag));
    if (!fits_int(size) || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, PGB_AES_GCM_TAG_SIZE, tag) != 1 ||
        !add_aad(c, aad, aad_size) ||
        (size > 0 && EVP_DecryptUpdate(c, plain, &n, sealed, (int)size) != 1)) {
        OPENSSL_cleanse(plain, size);
        return -1;
    }
    /* Final is where GCM compares the tag: nothing in plain is trusted before it. */
    if (EVP_DecryptFinal_ex(c, plain + size, &n) != 1) {
        OPENSSL_cleanse(plain, size);
        return 1;
    }
    return 0;
}

int pgb_aes_gcm_seal(EVP_CIPHER_CTX *cipher, const uint8_t key[PGB_AES_GCM_KEY_SIZE],
                     const uint8_t nonce[PGB_AES_GCM_NONCE_SIZE], const uint8_t *aad,
                     size_t aad_size, const uint8_t *plain, size_t size, uint8_t *sealed)
{
    EVP_CIPHER_CTX *c = cipher ? cipher : EVP_CIPHER_CTX_new();
    if (!c)
        return -1;
    int rc = seal(c, key, nonce, aad, aad_size, plain, size, sealed);
    if (!cipher)
        EVP_CIPHER_CTX_free(c);
    return rc;
}

int pgb_aes_gcm_open(EVP_CIPHER_CTX *cipher, const uint8_t key[PGB_AES_GCM_KEY_SIZE],
                     const uint8_t nonce[PGB_AES_GCM_NONCE_SIZE], const uint8_t *aad,
                     size_t aad_size, const uint8_t *sealed, size_t sealed_size, uint8_t *plain)
{
    if (sealed_size < PGB_AES_GCM_TAG_SIZE)
        return 1;
    EVP_CIPHER_CTX *c = cipher ? cipher : EVP_CIPHER_CTX_new();
    if (!c)
        return -1;
    int rc = open_sealed(c, key, nonce, aad, aad_size, sealed, sealed_size, plain);
    if (!cipher)
        EVP_CIPHER_CTX_free(c);
    return rc;
}
