/*
 * Keys of the repository format (doc/repository-format.md, "Wrapping the data
 * key" and "Keys"): each object's random data key, wrapped into its header
 * for the repository key pair (cipher 1) or the writer key (cipher 2); and the
 * keyring's secret (repository private key || writer key), sealed for a
 * passphrase or for X25519 recipients.
 *
 * A failed unwrap of a data key is damage (PGB_ECORRUPT): the keyring has
 * already proved the key. A failed unseal of the keyring means the passphrase
 * or identity is wrong (PGB_EAUTH): the two cannot be told apart from damage.
 */
#ifndef PGB_PIPELINE_KEY_WRAP_H
#define PGB_PIPELINE_KEY_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

#include "pipeline/object_header.h"
#include "pipeline/x25519.h"

#define PGB_WRITER_KEY_SIZE 32

/* What the keyring protects; wipe it with OPENSSL_cleanse when done. */
struct pgb_keyring_secret {
    uint8_t private_key[PGB_X25519_KEY_SIZE]; /* repository private key */
    uint8_t writer_key[PGB_WRITER_KEY_SIZE];
};

/* ---- data keys in object headers ---- */

/* Fill key with a new random data key. Returns 0 or PGB_ERROR. */
int pgb_data_key_generate(pgb_ctx *ctx, uint8_t key[PGB_DATA_KEY_SIZE]);

/*
 * Wrap data_key into header for the repository public key (cipher 1): sets
 * header->version and cipher, and fills ephemeral_public and wrapped_key;
 * header->codec must be set already (it is authenticated). Returns 0,
 * PGB_EINVALID for an unusable public key, or PGB_ERROR.
 */
int pgb_data_key_wrap_for_repository(pgb_ctx *ctx, struct pgb_object_header *header,
                                     const uint8_t data_key[PGB_DATA_KEY_SIZE],
                                     const uint8_t repository_public[PGB_X25519_KEY_SIZE]);

/*
 * Wrap data_key into header under the writer key (cipher 2), with a random
 * nonce: sets header->version and cipher, fills wrap_nonce and wrapped_key.
 * Returns 0 or PGB_ERROR.
 */
int pgb_data_key_wrap_for_writer(pgb_ctx *ctx, struct pgb_object_header *header,
                                 const uint8_t data_key[PGB_DATA_KEY_SIZE],
                                 const uint8_t writer_key[PGB_WRITER_KEY_SIZE]);

/*
 * Unwrap the data key of an object with the key its cipher needs: the
 * repository key pair for cipher 1 (the public half given, as the keyset
 * holds it, so that it is not derived again for every object), the writer
 * key for cipher 2. object_name is used in messages. Returns 0; PGB_ECORRUPT
 * "object N is damaged: its data key fails authentication" when the wrap does
 * not authenticate; PGB_EINVALID for cipher 0 or a NULL key the cipher needs.
 */
int pgb_data_key_unwrap(pgb_ctx *ctx, const char *object_name,
                        const struct pgb_object_header *header, const uint8_t *repository_private,
                        const uint8_t *repository_public, const uint8_t *writer_key,
                        uint8_t data_key[PGB_DATA_KEY_SIZE]);

/* ---- the keyring's secret ---- */

#define PGB_SCRYPT_DEFAULT_N 32768
#define PGB_SCRYPT_DEFAULT_R 8
#define PGB_SCRYPT_DEFAULT_P 1
#define PGB_KEYRING_SALT_SIZE 16
/* nonce 12 || AES-256-GCM(secret 64) || tag 16 */
#define PGB_KEYRING_PASSPHRASE_SEALED_SIZE (12 + 64 + 16)
/* AES-256-GCM(secret 64) || tag 16, zero nonce */
#define PGB_KEYRING_RECIPIENT_SEALED_SIZE (64 + 16)

struct pgb_scrypt_params {
    uint64_t n; /* a power of two, at least 2 */
    uint32_t r, p;
};

/*
 * Seal secret for a passphrase: a random salt and nonce are made, the key is
 * scrypt(passphrase, salt, n, r, p). Returns 0, PGB_EINVALID for an empty
 * passphrase or bad parameters, PGB_EUNSUPPORTED for parameters needing more
 * than 1 GiB, or PGB_ERROR.
 */
int pgb_keyring_seal_passphrase(pgb_ctx *ctx, const struct pgb_keyring_secret *secret,
                                const char *passphrase, size_t passphrase_len,
                                const struct pgb_scrypt_params *params,
                                uint8_t salt[PGB_KEYRING_SALT_SIZE],
                                uint8_t sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE]);

/*
 * Open what pgb_keyring_seal_passphrase() sealed. Returns 0; PGB_EAUTH "cannot
 * decrypt: wrong key (...)" when the passphrase is wrong or the sealed bytes
 * are damaged; PGB_ECORRUPT for parameters that are not valid scrypt ones;
 * PGB_EUNSUPPORTED for parameters needing more than 1 GiB; PGB_ERROR.
 */
int pgb_keyring_unseal_passphrase(pgb_ctx *ctx, const char *passphrase, size_t passphrase_len,
                                  const struct pgb_scrypt_params *params,
                                  const uint8_t salt[PGB_KEYRING_SALT_SIZE],
                                  const uint8_t sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE],
                                  struct pgb_keyring_secret *secret);

/*
 * Seal secret for the holder of recipient_public's private key, through a new
 * ephemeral key pair whose public half goes to ephemeral_public. Returns 0,
 * PGB_EINVALID for an unusable recipient key, or PGB_ERROR.
 */
int pgb_keyring_seal_recipient(pgb_ctx *ctx, const struct pgb_keyring_secret *secret,
                               const uint8_t recipient_public[PGB_X25519_KEY_SIZE],
                               uint8_t ephemeral_public[PGB_X25519_KEY_SIZE],
                               uint8_t sealed[PGB_KEYRING_RECIPIENT_SEALED_SIZE]);

/*
 * Open what pgb_keyring_seal_recipient() sealed, with the recipient's private
 * key (the identity). Returns 0; PGB_EAUTH "cannot decrypt: wrong key (...)"
 * when the identity does not match or the sealed bytes are damaged; PGB_ERROR.
 */
int pgb_keyring_unseal_recipient(pgb_ctx *ctx, const uint8_t recipient_private[PGB_X25519_KEY_SIZE],
                                 const uint8_t ephemeral_public[PGB_X25519_KEY_SIZE],
                                 const uint8_t sealed[PGB_KEYRING_RECIPIENT_SEALED_SIZE],
                                 struct pgb_keyring_secret *secret);

#endif
