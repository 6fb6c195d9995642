/*
 * libpgbackup: a cluster's recovery goals and policy.
 *
 * Goals are measured, not assumed: the RPO (how much recent data a loss may
 * cost) and the RTO (how long a restore may take, measured by drills); the
 * restore paths that must work (full-logical, selective, full-cluster, pitr,
 * globals); retention (full backups to keep, their age, a point-in-time
 * window); and cadences (drills, and backups of each kind). The policy lives
 * in the repository beside the cluster's backups, sealed like its catalog.
 *
 * Settings are options: "rpo", "rto", "keep-age", "pitr-window",
 * "drill-every", "physical-every", "logical-every", "globals-every"
 * (durations: "90s", "15min", "1h", "7d", "2w", or seconds), "keep-full" (a
 * count), "require" (repeatable: a restore path). The value "none" clears a
 * setting.
 */
#ifndef PGBACKUP_POLICY_H
#define PGBACKUP_POLICY_H

#include <stdint.h>

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_policy_* are available. */
#define PGB_HAS_POLICY 1

/** A cluster's policy, read from the repository. */
typedef struct pgb_policy pgb_policy;

/**
 * Read the policy of the repository's cluster; a cluster without one gets an
 * empty policy (no goals, keep everything).
 *
 * @param out   set to the policy; free it with pgb_policy_free()
 * @param repo  an open repository (any key that can read records)
 * @return 0, PGB_ECORRUPT for a damaged policy, PGB_EAUTH without a key, or
 *         another PGB_E* code
 */
PGB_EXTERN int pgb_policy_load(pgb_policy **out, pgb_repo *repo);

/**
 * Change the settings opts sets (see above); the others stay. Nothing is
 * stored until pgb_policy_save().
 *
 * @return 0, or PGB_EINVALID naming the option and the value at fault (the
 *         policy is then unchanged)
 */
PGB_EXTERN int pgb_policy_update(pgb_policy *policy, const pgb_options *opts);

/**
 * Store the policy in the repository, replacing the previous one atomically.
 * @return 0 or a PGB_E* code from the storage
 */
PGB_EXTERN int pgb_policy_save(pgb_policy *policy);

/**
 * The policy as JSON: format_version (1), cluster, rpo_seconds, rto_seconds,
 * require ([path]), retention {full, age_seconds, pitr_window_seconds},
 * drill_every_seconds, backup_every_seconds {physical, logical, globals},
 * updated_at; unset values are null. Owned by the policy, valid until it
 * changes or is freed.
 */
PGB_EXTERN const char *pgb_policy_to_json(pgb_policy *policy);

/**
 * One setting in seconds (or, for "keep-full", a count): "rpo", "rto",
 * "keep-age", "pitr-window", "drill-every", "physical-every",
 * "logical-every", "globals-every", "keep-full".
 *
 * @return the value, or -1 when unset or the name is unknown
 */
PGB_EXTERN int64_t pgb_policy_get(const pgb_policy *policy, const char *setting);

/** Whether the policy requires a restore path ("pitr", "selective" and so on): 1 or 0. */
PGB_EXTERN int pgb_policy_requires(const pgb_policy *policy, const char *path);

/** Free a policy (NULL is allowed). */
PGB_EXTERN void pgb_policy_free(pgb_policy *policy);

PGB_END_DECLS

#endif /* PGBACKUP_POLICY_H */
