/*
 * libpgbackup: restores, to the end of a backup or to a point in time.
 *
 * A restore plan chooses a backup for a recovery target and checks, before
 * anything is written, that the restore can run safely and reach the target:
 * the target folder is empty or absent (or --delta), no server runs on it,
 * every tablespace has a free place to go, and the WAL archive holds every
 * segment recovery will read on the followed timeline path. The plan can be
 * shown (pgb_restore_plan_to_json) and then executed.
 *
 * Options: "to", "backup" (default: the newest backup that suits the target),
 * "delta", "tablespace-map" (OLD=NEW, OLD an oid or the original location),
 * "config-to"; the target: "target" (latest, the default: replay the whole
 * archive; or immediate: stop at the backup's consistent point),
 * "target-time" (ISO 8601 with an offset), "target-lsn", "target-xid",
 * "target-name" (at most one target), "target-inclusive" (default true),
 * "target-timeline" (latest, the default as in PostgreSQL; current, the
 * backup's; or a number), "target-action" (pause, the default as in
 * PostgreSQL; promote; shutdown); "archive-mode" (preserve, the default, or
 * off), "keep-replication" (keep primary_conninfo and primary_slot_name of a
 * standby's backup; default false), and for restore_command "program" (the
 * pgbackup program; default: pgbackup on PATH) with the repository options
 * ("repo", "cluster", "identity" or "passphrase-file", storage settings),
 * which restore_command reads from a file: no secret is written.
 */
#ifndef PGBACKUP_RESTORE_H
#define PGBACKUP_RESTORE_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** Restore plans take recovery targets (the target* options) and set up archive recovery. */
#define PGB_HAS_POINT_IN_TIME_RESTORE 1

/** A restore, planned and checked, not yet run. */
typedef struct pgb_restore_plan pgb_restore_plan;

/**
 * Plan a physical restore.
 *
 * The backup: for a target LSN the newest that ends at or before it, for a
 * target time the newest that ended before it, otherwise the newest; always
 * one on the path of timelines that leads to the target timeline. The WAL:
 * every segment from the backup's end to the target's segment (LSN target) or
 * to the end of the archive on that path (other targets) must be archived;
 * a partial segment counts only as the very last.
 *
 * With target latest and nothing archived after the backup, the restore is of
 * the backup alone (recovery mode "backup-only": the server replays the
 * backup's own WAL and starts). Otherwise the restore writes recovery.signal
 * and the recovery settings (mode "archive-recovery").
 *
 * @param out   set to the plan; free it with pgb_restore_plan_free()
 * @param repo  an open repository that can read content (pgb_repo_can_read)
 * @param opts  options (see above)
 * @return 0; PGB_ENOTFOUND for an unknown backup id, when no backup suits the
 *         target, or when a WAL segment is missing (the message names it);
 *         PGB_EREFUSED for a target that is not empty, a server running on
 *         it, or a tablespace location in use; PGB_EAUTH when the repository
 *         handle cannot read content; PGB_EINVALID for bad options, a named
 *         backup that cannot reach the target, or no way to build
 *         restore_command (no pgbackup program, no key file)
 */
PGB_EXTERN int pgb_restore_plan_new(pgb_restore_plan **out, pgb_repo *repo, const pgb_options *opts);

/** Id of the chosen backup; owned by the plan. */
PGB_EXTERN const char *pgb_restore_plan_backup_id(const pgb_restore_plan *plan);

/**
 * The plan as JSON: format_version, type, backup, target, delta, tablespaces
 * ([{oid, from, to}]), files, bytes, start_lsn, stop_lsn, wal ({first, last,
 * count}: the backup's own WAL), recovery ({target: {kind, value, inclusive,
 * timeline, action}, mode: "archive-recovery" or "backup-only", timeline,
 * timeline_path: [{timeline, begin, end}], backup_wal_segments, archive_wal:
 * {first, last, segments, bytes}, warnings: [text]}), archive_mode,
 * restore_command (or null), estimated_seconds (rough, from nominal rates);
 * owned by the plan.
 */
PGB_EXTERN const char *pgb_restore_plan_to_json(const pgb_restore_plan *plan);

/**
 * Run the plan: write the files (every one checked against its SHA-256), the
 * backup's WAL into pg_wal, its backup_manifest, pg_tblspc links to the
 * tablespaces' (mapped) locations, configuration files kept outside the data
 * directory, then the recovery settings: in postgresql.auto.conf
 * restore_command (pgbackup wal-fetch with --config pgbackup-restore.conf in
 * the data directory) and every recovery_target_* setting, archive_mode off
 * when asked, primary_conninfo and primary_slot_name emptied unless kept;
 * recovery.signal; standby.signal removed. global/pg_control is written last,
 * so a failed restore never starts.
 *
 * @return 0, PGB_ECORRUPT naming damaged content, PGB_EIO, PGB_ECANCELED
 */
PGB_EXTERN int pgb_restore_plan_execute(pgb_restore_plan *plan);

/** Free a plan (NULL is allowed). */
PGB_EXTERN void pgb_restore_plan_free(pgb_restore_plan *plan);

PGB_END_DECLS

#endif /* PGBACKUP_RESTORE_H */
