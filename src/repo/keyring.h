/*
 * keyring.json (doc/repository-format.md, "Keys"): made at repo-init, read at
 * every open to find the keys this process may hold.
 */
#ifndef PGB_REPO_KEYRING_H
#define PGB_REPO_KEYRING_H

#include <pgbackup/options.h>
#include <pgbackup/storage.h>

#include "pipeline/keyset.h"

/*
 * Make the repository's keys from the options (passphrase-file, recipient) and
 * write keyring.json, never over an existing one. keys receives every key.
 * *has_passphrase and *recipients say what protects the keyring.
 */
int pgb_keyring_create(pgb_storage *storage, const pgb_options *opts, struct pgb_keyset *keys,
                       int *has_passphrase, size_t *recipients);

/*
 * Read keyring.json and unlock it with what the options hold, in order:
 * passphrase-file, identity, writer-key, then the default writer key file
 * (default_writer_key, may be NULL).
 */
int pgb_keyring_open(pgb_storage *storage, const pgb_options *opts, const char *default_writer_key,
                     struct pgb_keyset *keys);

#endif
