/*
 * libpgbackup: verifying backups inside the repository, without restoring.
 */
#ifndef PGBACKUP_VERIFY_H
#define PGBACKUP_VERIFY_H

#include "common.h"
#include "manifest.h"
#include "options.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_verify_backup_with_options() is available. */
#define PGB_HAS_VERIFY_BACKUP_OPTIONS 1

/**
 * Verify one backup inside the repository without restoring it.
 *
 * Reads every chunk of every file of the backup, checking each object's
 * authentication and each file's SHA-256 against the backup's file list
 * (chunk by chunk, through the links of the file's SHA-256 chain, so that the
 * chunks of one large file are checked in parallel) and against the checksum
 * in the server's backup_manifest, that every
 * file of the manifest is in the backup and the reverse, and that every WAL
 * segment from the backup's start to its end is stored and readable. Every
 * problem is collected into the report; the return value says whether the
 * check could run at all.
 *
 * @param out   set to the report; free it with pgb_verify_report_free()
 * @param repo  an open repository that can read content
 * @param id    backup id, as listed by pgb_repo_list(); NULL for the newest
 * @return 0 when the check ran (the report says what it found); PGB_ENOTFOUND
 *         for an unknown id; PGB_EAUTH when the handle holds only the writer
 *         key; another PGB_E* code, details in pgb_ctx_errmsg()
 */
PGB_EXTERN int pgb_verify_backup(pgb_verify_report **out, pgb_repo *repo, const char *id);

/**
 * Verify one backup inside the repository, with options.
 *
 * The checks of pgb_verify_backup(), whose files are read back and checked
 * by "jobs" worker threads (default 1), biggest first; a storage made of
 * callbacks is read by the calling thread alone. The findings and their
 * order are the same whatever the number of jobs. Setting the cancel flag
 * of the repository's context (pgb_ctx_cancel(), from any thread) stops
 * every worker.
 *
 * @param out   set to the report; free it with pgb_verify_report_free()
 * @param repo  an open repository that can read content
 * @param id    backup id, as listed by pgb_repo_list(); NULL for the newest
 * @param opts  options ("jobs"), or NULL for the defaults; not kept
 * @return as pgb_verify_backup(); PGB_ECANCELED when canceled
 */
PGB_EXTERN int pgb_verify_backup_with_options(pgb_verify_report **out, pgb_repo *repo, const char *id,
                                              const pgb_options *opts);

PGB_END_DECLS

#endif /* PGBACKUP_VERIFY_H */
