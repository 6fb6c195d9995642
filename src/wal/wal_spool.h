/*
 * The local spool of WAL push-ahead and fetch prefetch: a folder where
 * markers say which segments a wal-push archived ahead of the server's own
 * call for them, and where wal-fetch keeps the segments it fetched ahead of
 * recovery's request.
 *
 * The default is the folder "pgbackup.spool" inside the folder of the WAL
 * file (pg_wal, for %p of archive_command and restore_command): it is on the
 * server's filesystem, so a prefetched segment is renamed into place rather
 * than copied; PostgreSQL's removal of old WAL only touches WAL file names
 * (RemoveOldXlogFiles() and IsXLogFileName() in xlog.c); and base backups,
 * PostgreSQL's (basebackup.c) and ours (backup/data_dir.c), leave out the
 * content of pg_wal.
 *
 * A marker is trusted only as far as it proves itself. It names its target
 * (a digest of the storage's name, the repository id and the cluster) and the
 * SHA-256 and size of the content; a reader compares all of it with what it
 * holds, and a torn, foreign or stale marker is simply not used.
 *
 * These functions touch no context, so worker threads call them too; a
 * failure comes back as a code with the reason in a buffer.
 */
#ifndef PGB_WAL_WAL_SPOOL_H
#define PGB_WAL_WAL_SPOOL_H

#include <stddef.h>

#include <pgbackup/options.h>

#include "repo/repo.h"
#include "wal/wal_sum.h"

/* What a spool entry is. */
enum pgb_wal_spool_kind {
    PGB_WAL_SPOOL_PUSHED = 1, /* "<name>.pushed": archived ahead by wal-push */
    PGB_WAL_SPOOL_FETCHED = 2 /* "<name>.fetched" marks "<name>.segment", fetched ahead by wal-fetch */
};

struct pgb_wal_spool {
    char *folder;
    char target[65]; /* hex SHA-256 of storage name, repository id and cluster */
};

/*
 * The spool of repo for the WAL file at beside: the "spool-dir" option of
 * opts, or "pgbackup.spool" in beside's folder. Nothing is created yet.
 * Returns 0 or PGB_ENOMEM (recorded in repo's context).
 */
int pgb_wal_spool_init(struct pgb_wal_spool *spool, const struct pgb_repo *repo, const pgb_options *opts,
                       const char *beside);
void pgb_wal_spool_free(struct pgb_wal_spool *spool);

/* "<folder>/<name><suffix>", malloc'd; NULL when out of memory. */
char *pgb_wal_spool_path(const struct pgb_wal_spool *spool, const char *name, const char *suffix);

/* Create the folder (mode 0700) unless it exists. Returns 0 or PGB_EIO with the reason in why. */
int pgb_wal_spool_create(const struct pgb_wal_spool *spool, char *why, size_t why_size);

/*
 * Write the marker of kind for the segment name, which holds sum, creating
 * the folder when needed. The marker is written to a temporary file and
 * renamed, so it is whole or absent. Returns 0 or PGB_EIO with the reason in why.
 */
int pgb_wal_spool_mark(const struct pgb_wal_spool *spool, int kind, const char *name, const struct pgb_wal_sum *sum,
                       char *why, size_t why_size);

/*
 * Whether a whole marker of kind for name, made for this spool's target, is
 * there; sum is then set to what it records. 0 for none, a torn one, or one
 * of another repository or cluster.
 */
int pgb_wal_spool_marked(const struct pgb_wal_spool *spool, int kind, const char *name, struct pgb_wal_sum *sum);

/* Remove the marker of kind for name (and, for PGB_WAL_SPOOL_FETCHED, the segment it marks). */
void pgb_wal_spool_unmark(const struct pgb_wal_spool *spool, int kind, const char *name);

/*
 * Remove the entries of kind older than the segment name, with their
 * temporary files: pushed markers whose name sorts before name (the
 * archiver's order), fetched segments whose segment number is lower, on any
 * timeline (recovery asks for segments in that order).
 */
void pgb_wal_spool_clean(const struct pgb_wal_spool *spool, int kind, const char *name);

/* The SHA-256 and size of a local regular file. Returns 0, or -1 with errno set. */
int pgb_wal_spool_local_sum(const char *path, struct pgb_wal_sum *sum);

#endif
