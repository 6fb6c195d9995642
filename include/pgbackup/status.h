/*
 * libpgbackup: status for monitoring, and the advisor.
 *
 * A status is collected once from the repository (backups of each kind, the
 * WAL archive, drills, the policy, the runbook) and, when option "pg" is
 * given, from the server (archiving as pg_stat_archiver reports it,
 * standbys). It carries the advisor's findings: goals not met and the classic
 * mistakes, each with a severity ("error" or "warning"), a code, a message and
 * the fix. Codes: no-backup, replica-as-backup, rpo-not-met, rto-not-met,
 * drill-failed, drill-overdue, backup-overdue, no-globals-backup,
 * restores-never-tested, backups-on-database-host,
 * logical-only-pitr-required, physical-only-selective-required,
 * no-encryption, archiving-off, archiving-failing, no-wal-archive,
 * no-runbook.
 */
#ifndef PGBACKUP_STATUS_H
#define PGBACKUP_STATUS_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_status_* are available. */
#define PGB_HAS_STATUS 1

/** Levels, as Nagios plugins exit. */
typedef enum pgb_health_level {
    PGB_HEALTH_OK = 0,
    PGB_HEALTH_WARNING = 1,  /** a finding at warning level */
    PGB_HEALTH_CRITICAL = 2, /** a finding at error level */
    PGB_HEALTH_UNKNOWN = 3   /** the status could not be collected */
} pgb_health_level;

/** A cluster's status. */
typedef struct pgb_cluster_status pgb_cluster_status;

/**
 * Collect the status of the repository's cluster.
 *
 * @param out   set to the status; free it with pgb_cluster_status_free()
 * @param repo  an open repository (any key that can read records)
 * @param opts  "pg" to ask the server too (its failure is reported in the
 *              status, not as an error); NULL for the repository alone
 * @return 0, or the repository's PGB_E* code
 */
PGB_EXTERN int pgb_cluster_status_new(pgb_cluster_status **out, pgb_repo *repo, const pgb_options *opts);

/** The status level: a pgb_health_level. */
PGB_EXTERN int pgb_cluster_status_level(const pgb_cluster_status *status);

/** How many findings are at error level. */
PGB_EXTERN int pgb_cluster_status_error_count(const pgb_cluster_status *status);

/**
 * The status rendered as format: "json" (format_version 1: cluster,
 * generated_at, level, backups {physical, logical, globals: {count,
 * newest_id, age_seconds, stored_bytes, database_bytes} or null}, archive
 * {files, newest_segment, newest_archived_at, age_seconds},
 * recovery_point_age_seconds, server (null, or {error} or {archive_mode,
 * archived_count, failed_count, last_archived_wal,
 * seconds_since_last_archived, failing, ready_count, standbys}), drills
 * {count, last {id, passed, rto_seconds, finished_at, age_seconds}}, goals
 * {rpo_seconds, rto_seconds}, findings [{severity, code, message, fix}]),
 * "text" (for people), "prometheus" (the text exposition format, metrics
 * named pgbackup_*, with HELP and TYPE lines), "nagios" (one line and
 * performance data, as plugins print; the plugin's exit code is
 * pgb_cluster_status_level()).
 *
 * @return the text, owned by the status and valid until it is freed; NULL
 *         for an unknown format
 */
PGB_EXTERN const char *pgb_cluster_status_render(pgb_cluster_status *status, const char *format);

/** Free a status (NULL is allowed). */
PGB_EXTERN void pgb_cluster_status_free(pgb_cluster_status *status);

PGB_END_DECLS

#endif /* PGBACKUP_STATUS_H */
