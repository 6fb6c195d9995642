/*
 * libpgbackup: backup jobs.
 *
 * A job makes one backup of the cluster named by the "cluster" option into an
 * open repository. Options: "type" (physical, logical or globals: see
 * below), "mode" (stream: BASE_BACKUP over a replication connection, from any host,
 * every file received compared with the SHA-256 of the server's backup_manifest
 * before the backup is committed;
 * local: on the database host, a parallel copy of the data directory "pgdata"
 * between pg_backup_start and pg_backup_stop by "jobs" workers, data page
 * checksums verified, failing the backup on a damaged page unless
 * "allow-bad-pages" is true), "incremental" (store only chunks that changed
 * since the newest physical backup of the cluster, found by a keyed hash of
 * their content), "pg" (libpq conninfo),
 * "compress", "label", "checkpoint" (fast or spread). The job takes the
 * cluster's writer lock for its whole run. Its catalog record is written last:
 * a job that fails or is canceled leaves no backup, only unreferenced objects
 * that expire removes.
 *
 * Logical backups ("type" logical) run pg_dump in custom format for each
 * database named by "db" (repeatable; default every database that accepts
 * connections but templates) and stream its output through the pipeline:
 * nothing is kept on local disk ("format" custom, the default). With "format"
 * directory, pg_dump -Fd -j "jobs" dumps in parallel into a private spool
 * folder and each file is stored as soon as pg_dump closes it. Each
 * database's archive is stored with its
 * table of contents (pg_restore -l -v, and the entries with their
 * dependencies and data offsets) and its own properties (encoding, locale,
 * owner, grants, comment, settings). Globals backups ("type" globals) store
 * pg_dumpall --globals-only: roles with their password hashes, memberships,
 * role settings, tablespaces. The programs come from "pg-bindir" or
 * pg_config --bindir and must be of the server's major version or newer
 * (PGB_EUNSUPPORTED names both versions; missing ones are PGB_ENOTFOUND); a
 * password in "pg" reaches them as PGPASSWORD, never on their command line.
 * A failing program fails the job with its error output in the message.
 * See logical.h for restoring them.
 */
#ifndef PGBACKUP_JOB_H
#define PGBACKUP_JOB_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** A backup job. */
typedef struct pgb_job pgb_job;

/**
 * Make a job; nothing runs yet.
 *
 * @param out   set to the job; free it with pgb_job_free()
 * @param repo  an open repository, used by one job at a time; must outlive the job
 * @param opts  options (see above), read now; NULL for the defaults
 * @return 0, PGB_EINVALID for a bad option (or local mode without "pgdata"),
 *         PGB_EUNSUPPORTED for a type or mode this version cannot run
 */
PGB_EXTERN int pgb_job_new(pgb_job **out, pgb_repo *repo, const pgb_options *opts);

/**
 * Run the backup. Progress goes to the context's progress callback (phases
 * "connect", "copy", "wal", "commit"), which may stop the job.
 *
 * Takes the cluster's writer lock for the run and releases it after, unless
 * the caller holds it already through pgb_repo_lock(). Clears the context's
 * cancel flag when it returns, so that a cancel stops only this run.
 *
 * @return 0 once the backup is committed; PGB_ELOCKED when another writer holds
 *         the cluster; PGB_ECONNECTION; PGB_ECANCELED; PGB_ECORRUPT when the
 *         server (stream mode) or the copy (local mode) found damaged data
 *         pages, each named "<path> block <n>" in the message and the log;
 *         PGB_EREFUSED when "pgdata" is not the data directory of the server
 *         "pg" reaches, or the server is another cluster than the backups of
 *         this cluster name; or another PGB_E* code
 */
PGB_EXTERN int pgb_job_run(pgb_job *job);

/**
 * Ask a running job to stop; it then fails with PGB_ECANCELED and commits nothing.
 *
 * Thread-safety: may be called from any thread while pgb_job_run() runs.
 */
PGB_EXTERN int pgb_job_cancel(pgb_job *job);

/** Id of the backup the job made or is making, or NULL before it ran; owned by the job. */
PGB_EXTERN const char *pgb_job_backup_id(const pgb_job *job);

/** The committed catalog record as JSON, or NULL before success; owned by the job. */
PGB_EXTERN const char *pgb_job_to_json(const pgb_job *job);

/** Free a job (NULL is allowed). */
PGB_EXTERN void pgb_job_free(pgb_job *job);

PGB_END_DECLS

#endif /* PGBACKUP_JOB_H */
