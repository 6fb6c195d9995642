/*
 * Key files made by `pgbackup keygen --output FILE` (doc/repository-format.md,
 * "Keys"): FILE holds the X25519 private key as PKCS#8 PEM, mode 0600;
 * FILE.pub the public key as SubjectPublicKeyInfo PEM. Both are what
 * `openssl pkey` reads and writes, so keys can be made or checked without us.
 */
#ifndef PGB_PIPELINE_KEY_FILES_H
#define PGB_PIPELINE_KEY_FILES_H

#include <stdint.h>

#include <pgbackup/common.h>

/*
 * Make a new X25519 key pair and write path (private, 0600) and path.pub
 * (public, 0644 less the umask). Neither file may exist already. On failure
 * neither file is left behind. Returns 0; PGB_EEXISTS naming the file that
 * exists; PGB_EIO naming the file that cannot be written; PGB_ENOMEM;
 * PGB_ERROR.
 */
int pgb_key_files_generate(pgb_ctx *ctx, const char *path);

/*
 * Read the raw X25519 private key from a PEM file. Like ssh, a file that group
 * or others may access is refused. Returns 0; PGB_ENOTFOUND naming a missing
 * file; PGB_EINVALID for a file others may read, a file that holds no PEM
 * private key, or a key that "is not an X25519 key"; PGB_EIO.
 */
int pgb_key_file_read_private(pgb_ctx *ctx, const char *path, uint8_t raw[32]);

/*
 * Read the raw X25519 public key from a SubjectPublicKeyInfo PEM file.
 * Returns 0; PGB_ENOTFOUND naming a missing file; PGB_EINVALID for a file
 * that holds no PEM public key or a key that "is not an X25519 key"; PGB_EIO.
 */
int pgb_key_file_read_public(pgb_ctx *ctx, const char *path, uint8_t raw[32]);

#endif
