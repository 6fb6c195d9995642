/*
 * The point-in-time part of a restore plan: which backup recovery starts
 * from, which timelines it follows, and whether the archive holds every WAL
 * segment on the way, all decided before anything is written.
 */
#ifndef PGB_RESTORE_PITR_PLAN_H
#define PGB_RESTORE_PITR_PLAN_H

#include <stdint.h>

#include <jansson.h>

#include "repo/repo.h"
#include "restore/recovery_target.h"
#include "wal/timeline_history.h"

struct pgb_pitr_plan {
    json_t *record;          /* the chosen backup's catalog record */
    uint32_t timeline;       /* the timeline recovery ends on */
    struct pgb_timeline_path path;
    int from_archive;        /* recovery reads the archive (recovery.signal and restore_command are written) */
    uint64_t archive_segments, backup_segments, segment_size;
    char first[32], last[32]; /* names of the first and last segments read from the archive */
    json_t *warnings;        /* array of strings */
};

/*
 * Choose the backup and check the WAL for target.
 *
 * wanted names a backup (or NULL: the newest that suits the target: for an
 * LSN target the newest ending at or before it, for a time target the newest
 * that ended before it, else the newest, always on the followed timeline
 * path). Then every segment recovery will read from the archive must be
 * there: up to the target's segment for an LSN target, else up to the end of
 * the archive on the path (a partial segment counts only as the very last).
 *
 * @return 0; PGB_ENOTFOUND when no backup suits the target or a segment is
 *         missing (the message names it); PGB_EINVALID for a named backup that
 *         cannot reach the target; PGB_ECORRUPT for a damaged history file
 */
int pgb_pitr_plan_make(struct pgb_repo *repo, json_t *records, const char *wanted,
                       const struct pgb_recovery_target *target, struct pgb_pitr_plan *out);

/* The plan's recovery section as JSON (a new reference). */
json_t *pgb_pitr_plan_json(const struct pgb_pitr_plan *plan, const struct pgb_recovery_target *target);

void pgb_pitr_plan_clear(struct pgb_pitr_plan *plan);

#endif
