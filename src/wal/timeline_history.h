/*
 * Timeline histories (TTTTTTTT.history): which timelines a timeline descends
 * from and where it branched off each. Recovery follows such a path: it reads
 * a timeline's WAL up to the switch point, then its child's.
 */
#ifndef PGB_WAL_TIMELINE_HISTORY_H
#define PGB_WAL_TIMELINE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

/* No switch point: the path's last timeline goes on. */
#define PGB_TIMELINE_OPEN UINT64_MAX

/* One timeline of a path: its WAL from begin (inclusive) to end (the switch point, exclusive). */
struct pgb_timeline_step {
    uint32_t timeline;
    uint64_t begin, end;
};

/* From timeline 1 (or the oldest known) to the target timeline, oldest first. */
struct pgb_timeline_path {
    struct pgb_timeline_step *steps;
    size_t count;
};

/*
 * The path to timeline from the text of its history file (lines
 * "parentTLI<TAB>switchpoint<TAB>reason"; '#' comments and blank lines are
 * skipped). text NULL stands for a timeline without history, which PostgreSQL
 * allows only for timeline 1: the path is that timeline alone.
 *
 * @param what  how messages name the history file
 * @return 0, PGB_ECORRUPT for a malformed file (naming its line), PGB_ENOMEM
 */
int pgb_timeline_path_parse(pgb_ctx *ctx, const char *what, const char *text, uint32_t timeline,
                            struct pgb_timeline_path *out);

/* The step of timeline in path, or NULL. */
const struct pgb_timeline_step *pgb_timeline_path_find(const struct pgb_timeline_path *path, uint32_t timeline);

/* The step whose WAL holds lsn (begin <= lsn < end); the last step for an lsn past every switch. */
const struct pgb_timeline_step *pgb_timeline_path_at(const struct pgb_timeline_path *path, uint64_t lsn);

void pgb_timeline_path_clear(struct pgb_timeline_path *path);

#endif
