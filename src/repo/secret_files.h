/*
 * Secrets the repository reads from or writes to local files: the passphrase
 * file and the writer key file. Secrets never come from a command line.
 */
#ifndef PGB_REPO_SECRET_FILES_H
#define PGB_REPO_SECRET_FILES_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

/* The passphrase in path, without its trailing newline; free with free() after wiping. */
int pgb_passphrase_file_read(pgb_ctx *ctx, const char *path, char **passphrase, size_t *length);

/* Write the writer key to path (hex, mode 0600, never over an existing file), making its folder 0700. */
int pgb_writer_key_file_write(pgb_ctx *ctx, const char *path, const uint8_t key[32]);

/* Read the writer key from path. */
int pgb_writer_key_file_read(pgb_ctx *ctx, const char *path, uint8_t key[32]);

/* The default writer key file of a repository: ~/.config/pgbackup/<id>.writer-key (malloc'd). */
char *pgb_writer_key_default_path(const char *repository_id);

#endif
