/*
 * libpgbackup: the recovery runbook of a cluster.
 *
 * Markdown generated from the repository and the policy, for the engineer
 * who restores under pressure: where the backups live and with which keys,
 * the goals and retention, and the exact commands of each restore path (full
 * cluster, point in time, full logical, selective object, globals) with real
 * backup ids, how to verify success, and the drill history with measured RTOs.
 * Generating it records the time in the repository (the advisor reports a
 * missing or outdated runbook).
 */
#ifndef PGBACKUP_RUNBOOK_H
#define PGBACKUP_RUNBOOK_H

#include "common.h"
#include "ctx.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_runbook_generate() is available. */
#define PGB_HAS_RUNBOOK 1

/**
 * Generate the runbook of the repository's cluster.
 *
 * @param repo      an open repository
 * @param opts      how commands should name the repository: "config" (a
 *                  config file, shown as --config FILE) or else "repo",
 *                  "identity" or "passphrase-file"; NULL for placeholders
 * @param markdown  set to the document; free it with pgb_free()
 * @return 0, or a PGB_E* code from the repository
 */
PGB_EXTERN int pgb_runbook_generate(pgb_repo *repo, const pgb_options *opts, char **markdown);

PGB_END_DECLS

#endif /* PGBACKUP_RUNBOOK_H */
