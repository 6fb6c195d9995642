/*
 * Which backups retention keeps, decided from their catalog records alone
 * (pure: the clock is a parameter, so tests can simulate weeks).
 *
 * Each kind (physical, logical, globals) is judged on its own. A backup is
 * kept when any rule keeps it: it is one of the keep-full newest full
 * backups of its kind; it is younger than keep-age; it is the newest of its
 * kind; for physical backups, recovery to a point of the pitr-window needs
 * it (the newest backup that ended at or before the window's start, and every
 * later one); or it is an incremental that followed a full backup kept by
 * keep-full. With no rule set, everything is kept.
 */
#ifndef PGB_STRATEGY_RETENTION_H
#define PGB_STRATEGY_RETENTION_H

#include <stdint.h>

#include <jansson.h>

struct pgb_retention {
    int64_t keep_full;   /* -1: unset */
    int64_t keep_age;    /* seconds; -1: unset */
    int64_t pitr_window; /* seconds; -1: unset */
};

/*
 * Decide for every record (catalog records, oldest first): a new array of
 * {id, type, keep (bool), reasons: [text]} in the same order; NULL when out
 * of memory.
 */
json_t *pgb_retention_decide(json_t *records, const struct pgb_retention *rules, int64_t now);

#endif
