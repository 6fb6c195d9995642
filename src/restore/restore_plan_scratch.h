/*
 * Restore plans for scratch restores (drills): every tablespace not mapped by
 * an option goes under a scratch folder, never to its original location,
 * which belongs to the cluster that was backed up.
 */
#ifndef PGB_RESTORE_RESTORE_PLAN_SCRATCH_H
#define PGB_RESTORE_RESTORE_PLAN_SCRATCH_H

#include <pgbackup/restore.h>

/* As pgb_restore_plan_new(); tablespace_folder NULL keeps the original locations. */
int pgb_restore_plan_new_scratch(pgb_restore_plan **out, pgb_repo *repo, const pgb_options *opts,
                                 const char *tablespace_folder);

#endif
