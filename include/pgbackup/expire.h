/*
 * libpgbackup: retention.
 *
 * pgb_expire() applies the retention of the cluster's policy ("keep-full",
 * "keep-age", "pitr-window"; see policy.h), each backup kind judged on its
 * own. A backup is kept when any rule keeps it: one of the keep-full newest
 * full backups of its kind, younger than keep-age, the newest of its kind,
 * for physical backups needed for point-in-time recovery to any point of the
 * pitr-window (the newest backup that ended at or before the window's start
 * and every later one), or an incremental that followed a full backup kept
 * by keep-full. With no rule set, no backup and no WAL goes. Archived WAL
 * older than the start of the oldest physical backup kept goes (timeline
 * history files always stay; with no physical backup kept, no WAL goes);
 * packs that no kept backup references go (also those a failed backup left). Runs under the cluster's writer lock, so a backup
 * being written is never touched; a catalog record goes before the objects
 * of its backup, so no half-removed backup ever looks complete.
 */
#ifndef PGBACKUP_EXPIRE_H
#define PGBACKUP_EXPIRE_H

#include "common.h"
#include "ctx.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_expire() is available. */
#define PGB_HAS_EXPIRE 1

/**
 * Apply retention.
 *
 * @param repo    an open repository whose handle can read file lists (any key)
 * @param opts    "dry-run" (decide and report, remove nothing, take no lock),
 *                "as-of" (judge ages as of this time, ISO 8601 with an
 *                offset: what-if planning and tests); NULL for neither
 * @param report  set to the report (free with pgb_free): format_version (1),
 *                as_of, dry_run, policy {keep_full, keep_age_seconds,
 *                pitr_window_seconds}, backups [{id, type, keep, reasons}],
 *                wal {removed, bytes, first, last, kept_from_position}, packs
 *                {removed, bytes, kept}
 * @return 0; PGB_ELOCKED when another writer holds the cluster; PGB_EINVALID
 *         for a bad "as-of"; or a PGB_E* code of the storage (what was removed
 *         before it stays removed; a rerun finishes the work)
 */
PGB_EXTERN int pgb_expire(pgb_repo *repo, const pgb_options *opts, char **report);

PGB_END_DECLS

#endif /* PGBACKUP_EXPIRE_H */
