/*
 * libpgbackup: key pairs for public-key encryption of repositories.
 */
#ifndef PGBACKUP_KEYS_H
#define PGBACKUP_KEYS_H

#include "common.h"

PGB_BEGIN_DECLS

/**
 * Make an X25519 key pair: the private key in path (PKCS#8 PEM, mode 0600)
 * and the public key in path.pub (PEM). Give the .pub file to hosts that write
 * backups ("recipient" option); keep the private key where restores run
 * ("identity" option). Both files can be read by `openssl pkey`.
 *
 * @param ctx   the context that receives errors
 * @param path  the private key file; neither it nor path.pub may exist
 * @return 0, PGB_EEXISTS naming the file that exists, or PGB_EIO
 */
PGB_EXTERN int pgb_keygen(pgb_ctx *ctx, const char *path);

PGB_END_DECLS

#endif /* PGBACKUP_KEYS_H */
