/*
 * libpgbackup: PostgreSQL backup manifests and verification reports.
 *
 * A plain backup directory (pg_basebackup -Fp output, or a restored data
 * directory that still has its backup_manifest) is checked against its
 * backup_manifest with the rules of pg_verifybackup. Every problem found goes
 * into a report; the return value only says whether the check could run.
 */
#ifndef PGBACKUP_MANIFEST_H
#define PGBACKUP_MANIFEST_H

#include "common.h"

PGB_BEGIN_DECLS

/** Defined when pgb_verify_dir() and the verification report are available. */
#define PGB_HAS_VERIFY_DIR 1

/** The findings of a verification, with counts and a JSON form. */
typedef struct pgb_verify_report pgb_verify_report;

/** One problem of a report, read through the pgb_verify_finding_* accessors. */
typedef struct pgb_verify_finding pgb_verify_finding;

/**
 * Verify a backup directory against its backup_manifest, as pg_verifybackup does.
 *
 * Reads DIR/backup_manifest (version 1 or 2) and checks its Manifest-Checksum;
 * then every file under DIR must be listed in the manifest ("extra") with the
 * same size ("size"), every listed file must exist ("missing"), and the
 * checksum of every listed file is recomputed ("checksum"). The paths
 * backup_manifest, pg_wal, postgresql.auto.conf, recovery.signal and
 * standby.signal, and everything under them, are never checked, in either
 * direction. Symbolic links (pg_tblspc) are followed.
 *
 * WAL: for each WAL range of the manifest, every segment from the start LSN to
 * the end LSN on that timeline must be in DIR/pg_wal with the segment size
 * ("wal-missing"). The segment size comes from the long page header of a
 * segment found there, else 16 MiB. This is lighter than pg_verifybackup,
 * which has pg_waldump parse every record: a segment whose content is damaged
 * passes here.
 *
 * With a version 2 manifest, the system identifier in global/pg_control must
 * match the manifest's ("manifest").
 *
 * Checksums are computed by "jobs" worker threads (option "jobs", default 1).
 * All problems are collected; the check never stops at the first one.
 *
 * @param out   set to the report, also when it lists problems; free it with
 *              pgb_verify_report_free(); NULL on failure
 * @param ctx   the context that receives errors
 * @param dir   the backup directory
 * @param opts  options ("jobs"), or NULL for the defaults
 * @return 0 when the check ran (pgb_verify_report_ok() says whether the backup
 *         is sound); PGB_ECORRUPT when the manifest is missing, cannot be
 *         parsed or fails its own checksum; PGB_ENOTFOUND when dir does not
 *         exist; PGB_EINVALID when it is not a directory; PGB_EIO when a
 *         directory under it cannot be read; PGB_ECANCELED when the context
 *         was canceled. Details in pgb_ctx_errmsg().
 */
PGB_EXTERN int pgb_verify_dir(pgb_verify_report **out, pgb_ctx *ctx, const char *dir,
                              const pgb_options *opts);

/**
 * Whether the verification found nothing wrong.
 *
 * @return 1 when the report has no problem, 0 otherwise (or for an invalid report)
 */
PGB_EXTERN int pgb_verify_report_ok(const pgb_verify_report *report);

/** Number of problems in the report; 0 for an invalid report. */
PGB_EXTERN size_t pgb_verify_report_problem_count(const pgb_verify_report *report);

/**
 * Step through the problems, in the order they were found: files on disk
 * (extra, size), then manifest entries (missing), checksums, WAL.
 *
 * @param report   a report
 * @param finding  set to the next problem, owned by the report; NULL at the end
 * @return 0, PGB_ITEROVER after the last problem (and on every later call), or
 *         PGB_EINVALID for an invalid report or a NULL finding
 */
PGB_EXTERN int pgb_verify_report_next(pgb_verify_report *report, const pgb_verify_finding **finding);

/**
 * What kind of problem this is: "missing" (in the manifest, not on disk),
 * "extra" (on disk, not in the manifest), "size", "checksum" (mismatch, or the
 * file could not be read whole), "wal-missing" (a needed WAL segment is absent
 * or has the wrong size), or "manifest" (the manifest contradicts the backup).
 *
 * @return a string owned by the report; NULL for an invalid finding
 */
PGB_EXTERN const char *pgb_verify_finding_kind(const pgb_verify_finding *finding);

/**
 * The path concerned, relative to the backup directory ("base/5/16384"; for
 * WAL, "pg_wal/000000010000000000000002").
 *
 * @return a string owned by the report; NULL for an invalid finding
 */
PGB_EXTERN const char *pgb_verify_finding_path(const pgb_verify_finding *finding);

/**
 * A sentence saying what is wrong, naming the path
 * ("checksum mismatch for file \"base/5/16384\"").
 *
 * @return a string owned by the report; NULL for an invalid finding
 */
PGB_EXTERN const char *pgb_verify_finding_message(const pgb_verify_finding *finding);

/**
 * The report as one JSON document:
 *
 *     {"format_version": 1, "directory": "/backups/bb", "ok": false,
 *      "files_checked": 974, "bytes_checked": 31457280,
 *      "problems": [{"kind": "checksum", "path": "base/5/16384",
 *                    "message": "checksum mismatch for file \"base/5/16384\""}]}
 *
 * files_checked counts the manifest's files found on disk and compared;
 * bytes_checked the bytes read to recompute checksums. A path that is not
 * valid UTF-8 shows its bad bytes as U+FFFD in "path" and "message", and the
 * problem gains "encoded_path", the raw bytes in lower-case hex (as the
 * manifest's Encoded-Path). format_version 1 only ever gains fields.
 *
 * @return a string owned by the report; NULL for an invalid report
 */
PGB_EXTERN const char *pgb_verify_report_to_json(const pgb_verify_report *report);

/** Free a report and its findings (NULL is allowed). */
PGB_EXTERN void pgb_verify_report_free(pgb_verify_report *report);

PGB_END_DECLS

#endif /* PGBACKUP_MANIFEST_H */
