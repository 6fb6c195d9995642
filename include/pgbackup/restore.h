/*
 * libpgbackup: restores.
 *
 * A restore plan chooses a backup and a target and checks, before anything is
 * written, that the restore can run safely: the target folder is empty or
 * absent (or --delta), no server runs on it, and every tablespace has a free
 * place to go. The plan can be shown (pgb_restore_plan_to_json) and then
 * executed. Options: "backup" (default: the newest physical backup), "to",
 * "delta", "tablespace-map" (OLD=NEW, OLD an oid or the original location),
 * "config-to".
 */
#ifndef PGBACKUP_RESTORE_H
#define PGBACKUP_RESTORE_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** A restore, planned and checked, not yet run. */
typedef struct pgb_restore_plan pgb_restore_plan;

/**
 * Plan a physical restore.
 *
 * @param out   set to the plan; free it with pgb_restore_plan_free()
 * @param repo  an open repository that can read content (pgb_repo_can_read)
 * @param opts  options (see above)
 * @return 0; PGB_ENOTFOUND for an unknown backup id or when the cluster has no
 *         physical backup; PGB_EREFUSED for a target that is not empty, a
 *         server running on it, or a tablespace location in use; PGB_EAUTH
 *         when the repository handle cannot read content; PGB_EINVALID
 */
PGB_EXTERN int pgb_restore_plan_new(pgb_restore_plan **out, pgb_repo *repo, const pgb_options *opts);

/** Id of the chosen backup; owned by the plan. */
PGB_EXTERN const char *pgb_restore_plan_backup_id(const pgb_restore_plan *plan);

/**
 * The plan as JSON: format_version, backup, target, delta, tablespaces
 * ([{oid, from, to}]), files, bytes, start_lsn, stop_lsn, wal ({first, last,
 * count}); owned by the plan.
 */
PGB_EXTERN const char *pgb_restore_plan_to_json(const pgb_restore_plan *plan);

/**
 * Run the plan: write the files (every one checked against its SHA-256), the
 * backup's WAL into pg_wal, its backup_manifest, pg_tblspc links to the
 * tablespaces' (mapped) locations, and configuration files kept outside the
 * data directory.
 * global/pg_control is written last, so a failed restore never starts.
 *
 * @return 0, PGB_ECORRUPT naming damaged content, PGB_EIO, PGB_ECANCELED
 */
PGB_EXTERN int pgb_restore_plan_execute(pgb_restore_plan *plan);

/** Free a plan (NULL is allowed). */
PGB_EXTERN void pgb_restore_plan_free(pgb_restore_plan *plan);

PGB_END_DECLS

#endif /* PGBACKUP_RESTORE_H */
