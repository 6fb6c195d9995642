/*
 * AES-256-GCM with a 12-byte nonce and a 16-byte tag appended to the
 * ciphertext: the one authenticated cipher of the repository format
 * (doc/repository-format.md, "Body", "Wrapping the data key", "Keys").
 */
#ifndef PGB_PIPELINE_AES_GCM_H
#define PGB_PIPELINE_AES_GCM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define PGB_AES_GCM_KEY_SIZE 32
#define PGB_AES_GCM_NONCE_SIZE 12
#define PGB_AES_GCM_TAG_SIZE 16

/*
 * Encrypt size bytes of plain into sealed (size + 16 bytes: ciphertext || tag).
 * plain and sealed may be the same buffer. cipher is a context to reuse, or
 * NULL to use a temporary one. Returns 0, or -1 when OpenSSL fails (its
 * reason is left queued for pgb_crypto_error()).
 */
int pgb_aes_gcm_seal(EVP_CIPHER_CTX *cipher, const uint8_t key[PGB_AES_GCM_KEY_SIZE],
                     const uint8_t nonce[PGB_AES_GCM_NONCE_SIZE], const uint8_t *aad,
                     size_t aad_size, const uint8_t *plain, size_t size, uint8_t *sealed);

/*
 * Check and decrypt sealed (sealed_size >= 16 bytes: ciphertext || tag) into
 * plain (sealed_size - 16 bytes; may be the same buffer as sealed). Returns 0
 * when authentic, 1 when the tag does not match (plain is then wiped), -1 when
 * OpenSSL fails.
 */
int pgb_aes_gcm_open(EVP_CIPHER_CTX *cipher, const uint8_t key[PGB_AES_GCM_KEY_SIZE],
                     const uint8_t nonce[PGB_AES_GCM_NONCE_SIZE], const uint8_t *aad,
                     size_t aad_size, const uint8_t *sealed, size_t sealed_size, uint8_t *plain);

#endif
