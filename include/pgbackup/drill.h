/*
 * libpgbackup: restore drills.
 *
 * A drill proves a backup by restoring it: into a private scratch folder,
 * with everything that could reach out neutralised (archiving off, no
 * primary_conninfo, max_logical_replication_workers = 0 so subscriptions stay
 * idle, listening on loopback and a private socket only, trust for local
 * connections only), PostgreSQL started on a free loopback port as an
 * unprivileged user, recovery to the target and promotion, then probes and
 * built-in checks (every database connects, catalog counts, amcheck on btree
 * indexes when available, exact row counts of the largest tables). The server
 * is stopped and the scratch folder removed afterwards, always. The report is
 * stored in the repository.
 *
 * The measured RTO runs from the start of the drill to the moment the
 * restored server accepts queries at the target.
 *
 * A logical drill ("kind" logical) makes an empty scratch cluster with
 * initdb, started with the same settings, restores into it the newest globals
 * backup and then every database of the logical backup (option "backup", or
 * the newest logical backup; "db" to take only some), each created with its
 * recorded properties, and probes the backup's first database. Its RTO ends
 * once the restore is done.
 *
 * Options: the restore plan's ("backup", "target", "target-time",
 * "target-lsn", "target-xid", "target-name", "target-inclusive",
 * "target-timeline", "jobs", "program" and the repository options that
 * restore_command needs), "probe" (repeatable: 'SQL' or 'SQL => EXPECTED';
 * run in database postgres; a probe fails on an error or when its first value
 * differs from EXPECTED), "kind" (physical or logical), "drill-user" (the operating
 * system user that runs the server when the caller is root), "drill-role"
 * (the role to connect as; default: postgres, else the calling user's name),
 * "scratch-dir" (where the scratch folder is made; default $TMPDIR or /tmp),
 * "pg-bindir" (the server programs; default those of the backup's major
 * version), "drill-timeout" (seconds the server may take to start and
 * recover; default 3600).
 */
#ifndef PGBACKUP_DRILL_H
#define PGBACKUP_DRILL_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_drill_* are available. */
#define PGB_HAS_DRILL 1

/** A restore drill. */
typedef struct pgb_drill pgb_drill;

/**
 * Make a drill; nothing runs yet.
 *
 * @param out   set to the drill; free it with pgb_drill_free()
 * @param repo  an open repository that can read content; must outlive the drill
 * @param opts  options (see above), read now; NULL for the defaults
 * @return 0, PGB_EINVALID for a bad option, PGB_EUNSUPPORTED for another kind,
 *         PGB_EAUTH when the handle cannot read content
 */
PGB_EXTERN int pgb_drill_new(pgb_drill **out, pgb_repo *repo, const pgb_options *opts);

/**
 * Run the drill and store its report in the repository. A drill that fails
 * (the restore, the start, recovery, a probe or a check) is still a drill
 * that ran: its report says why, and pgb_drill_passed() is 0.
 *
 * @return 0 once the report is stored (see pgb_drill_passed); PGB_EINVALID
 *         for a drill run twice; or the PGB_E* code of storing the report
 */
PGB_EXTERN int pgb_drill_run(pgb_drill *drill);

/** 1 when the drill ran and everything passed, else 0. */
PGB_EXTERN int pgb_drill_passed(const pgb_drill *drill);

/** The measured RTO in seconds, or -1 when the server never reached the target. */
PGB_EXTERN double pgb_drill_rto_seconds(const pgb_drill *drill);

/**
 * The report as JSON, or NULL before the drill ran: format_version (1), id,
 * kind, cluster, backup, target ({kind, value, inclusive, timeline, action};
 * for a logical drill {kind: "logical"}, and "restores": the logical restore
 * reports),
 * started_at, finished_at, steps ([{name, seconds, ok, detail}]),
 * rto_seconds, rto_goal_seconds, rto_met, reached ({lsn, time, timeline}),
 * probes ([{sql, expected, got, passed, error}]), checks ([{name, passed,
 * detail}]), passed, error. Owned by the drill.
 */
PGB_EXTERN const char *pgb_drill_to_json(const pgb_drill *drill);

/** Free a drill (NULL is allowed). */
PGB_EXTERN void pgb_drill_free(pgb_drill *drill);

PGB_END_DECLS

#endif /* PGBACKUP_DRILL_H */
