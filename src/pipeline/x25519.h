/*
 * X25519 keys as raw 32-byte strings (the form stored in keyring.json and in
 * object headers), and the key agreement the format uses everywhere: X25519
 * then HKDF-SHA256 (doc/repository-format.md, "Wrapping the data key", "Keys").
 */
#ifndef PGB_PIPELINE_X25519_H
#define PGB_PIPELINE_X25519_H

#include <stdint.h>

#include <pgbackup/common.h>

#define PGB_X25519_KEY_SIZE 32

/* Make a new key pair from the system's random source. Returns 0 or PGB_ERROR. */
int pgb_x25519_generate(pgb_ctx *ctx, uint8_t public_key[PGB_X25519_KEY_SIZE],
                        uint8_t private_key[PGB_X25519_KEY_SIZE]);

/* The public key of a private key. Returns 0 or PGB_ERROR. */
int pgb_x25519_public_from_private(pgb_ctx *ctx, const uint8_t private_key[PGB_X25519_KEY_SIZE],
                                   uint8_t public_key[PGB_X25519_KEY_SIZE]);

/*
 * A 32-byte key shared with the holder of peer_public's private key:
 * HKDF-SHA256(ikm = X25519(own_private, peer_public),
 *             salt = ephemeral_public || recipient_public, info).
 * Both sides pass the same salt whichever of the two keys they hold; the one
 * of its two public keys that is not peer_public must be own_private's (it is
 * taken as given, not computed again). Returns 0,
 * PGB_EINVALID when peer_public is a point that gives no shared secret (a small
 * order point: a damaged or forged key), or PGB_ERROR. Callers say which key
 * was at fault.
 */
int pgb_x25519_agree(pgb_ctx *ctx, const uint8_t own_private[PGB_X25519_KEY_SIZE],
                     const uint8_t peer_public[PGB_X25519_KEY_SIZE],
                     const uint8_t ephemeral_public[PGB_X25519_KEY_SIZE],
                     const uint8_t recipient_public[PGB_X25519_KEY_SIZE], const char *info,
                     uint8_t key[32]);

#endif
