/*
 * The logical part of a drill: the backups it restores (the newest globals
 * backup, then each database of a logical backup, created with its recorded
 * properties) into an empty scratch cluster, through the logical restore API.
 */
#ifndef PGB_RESTORE_DRILL_LOGICAL_H
#define PGB_RESTORE_DRILL_LOGICAL_H

#include <jansson.h>

#include <pgbackup/options.h>

#include "repo/repo.h"

/*
 * The logical backup to drill: wanted (an id) or the newest logical backup;
 * a new reference to its catalog record in *record.
 * @return 0, PGB_ENOTFOUND, PGB_EINVALID for a backup of another type
 */
int pgb_drill_logical_choose(struct pgb_repo *repo, const char *wanted, json_t **record);

/*
 * Restore into the scratch server conninfo reaches: the newest globals backup
 * (when there is one), then every database of record (or only those of
 * option "db"), each created (postgres, which initdb made empty, is restored
 * into). Appends each restore's JSON to restores.
 * @return 0 or the failing restore's code (its message in the context)
 */
int pgb_drill_logical_restore(struct pgb_repo *repo, const pgb_options *opts, json_t *record, const char *conninfo,
                              json_t *restores);

#endif
