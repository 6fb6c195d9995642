/*
 * libpgbackup: verifying backups inside the repository, without restoring.
 */
#ifndef PGBACKUP_VERIFY_H
#define PGBACKUP_VERIFY_H

#include "common.h"
#include "manifest.h"
#include "repo.h"

PGB_BEGIN_DECLS

/**
 * Verify one backup inside the repository without restoring it.
 *
 * Reads every chunk of every file of the backup, checking each object's
 * authentication and SHA-256, each file's SHA-256 against the backup's file
 * list and against the checksum in the server's backup_manifest, that every
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

PGB_END_DECLS

#endif /* PGBACKUP_VERIFY_H */
