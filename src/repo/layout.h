/*
 * Where things live in a repository (doc/repository-format.md, "Layout").
 */
#ifndef PGB_REPO_LAYOUT_H
#define PGB_REPO_LAYOUT_H

#include <stddef.h>

#include <pgbackup/common.h>

#include "pipeline/keyset.h"

#define PGB_REPO_MARKER "pgbackup.repo"
#define PGB_REPO_KEYRING "keyring.json"
#define PGB_REPO_FORMAT_VERSION 1

enum { PGB_CLUSTER_DIR_SIZE = 128, PGB_KEY_SIZE = 512 };

/*
 * The folder of a cluster: "clusters/<name>" in a plain repository, and
 * "clusters/<keyed hash of the name>" in an encrypted one, so that names do
 * not show. Checks the name: 1 to 64 of A-Z a-z 0-9 _ . - , not starting with ".".
 */
int pgb_layout_cluster_dir(pgb_ctx *ctx, const struct pgb_keyset *keys, const char *cluster,
                           char out[PGB_CLUSTER_DIR_SIZE]);

/* A backup id is 1 to 64 of A-Z a-z 0-9 _ - . not starting with "." (they sort by time). */
int pgb_layout_check_backup_id(pgb_ctx *ctx, const char *id);

#endif
