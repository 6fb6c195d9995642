/*
 * Logical and globals backups as kinds of pgb_job (src/backup/job.c reads
 * their options here and dispatches to them).
 *
 * A logical backup runs pg_dump in custom format for each database and
 * streams its stdout through the pipeline into the repository: no local copy.
 * Each database becomes three files of the backup's file list:
 * databases/<name>/dump (the archive as pg_dump wrote it), .../toc
 * (pg_restore -l -v of it) and .../toc.json (entries, dependencies and data
 * block offsets), plus .../database.json (what CREATE DATABASE needs to make
 * it again: encoding, locale, owner, grants, comment, settings).
 * A globals backup is pg_dumpall --globals-only as globals.sql.
 * The catalog record is committed last, as for every backup.
 */
#ifndef PGB_LOGICAL_LOGICAL_JOB_H
#define PGB_LOGICAL_LOGICAL_JOB_H

#include <pgbackup/options.h>

struct pgb_job;

/* The options of logical and globals backups, kept by the job. */
struct pgb_logical_job {
    char **databases; /* "db" option; none: every connectable database but templates */
    size_t database_count;
    char *format;     /* "custom" or "directory" */
    char *bindir;     /* "pg-bindir", or NULL */
};

/* Whether type ("logical", "globals") is one of these kinds. */
int pgb_logical_job_is_type(const char *type);

/* Read the options into job->logical (PGB_EINVALID for a bad value). */
int pgb_logical_job_read_options(struct pgb_job *job, const pgb_options *opts);

/* Run the backup the job's type names; the caller holds the writer lock. */
int pgb_logical_job_run(struct pgb_job *job);

void pgb_logical_job_free(struct pgb_logical_job *logical);

/* Copy every value of list option key (NULL-terminated array in *values, *count of them); free with pgb_logical_list_free. */
int pgb_logical_copy_list(pgb_ctx *ctx, const pgb_options *opts, const char *key, char ***values, size_t *count);
void pgb_logical_list_free(char **values);

/* The logical backup (pg_dump of each database) and the globals backup (pg_dumpall --globals-only). */
int pgb_logical_backup_run(struct pgb_job *job);
int pgb_globals_backup_run(struct pgb_job *job);

#endif
