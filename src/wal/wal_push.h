/*
 * Archiving one WAL file: the path pgb_wal_push() takes for the file it is
 * called for, and push-ahead for each ready segment after it.
 */
#ifndef PGB_WAL_WAL_PUSH_H
#define PGB_WAL_WAL_PUSH_H

#include <pgbackup/options.h>

#include "pipeline/object.h"
#include "repo/repo.h"
#include "wal/wal_sum.h"

/* How WAL objects are written: the "compress" option of opts (NULL: zstd:3), never overwriting. */
int pgb_wal_push_spec(pgb_ctx *ctx, const pgb_options *opts, struct pgb_object_spec *spec);

/*
 * Archive the file at path into repo (whose cluster the caller has checked),
 * durable on return, as pgb_wal_push() documents. Errors go to repo's context.
 *
 * @param pushed  set to the SHA-256 and size of the content now archived under
 *                the name (stored now, or found stored with identical content);
 *                may be NULL
 * @return as pgb_wal_push()
 */
int pgb_wal_push_file(struct pgb_repo *repo, const char *path, const struct pgb_object_spec *spec,
                      struct pgb_wal_sum *pushed);

#endif
