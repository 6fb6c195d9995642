/*
 * Where a point-in-time restore stops, read from the options "target"
 * (latest or immediate), "target-time", "target-lsn", "target-xid",
 * "target-name", "target-inclusive", "target-timeline" (latest, current or a
 * number) and "target-action" (pause, promote, shutdown), checked the way
 * PostgreSQL checks its recovery_target_* settings, so that a plan never
 * writes settings the server refuses at start.
 */
#ifndef PGB_RESTORE_RECOVERY_TARGET_H
#define PGB_RESTORE_RECOVERY_TARGET_H

#include <stdint.h>

#include <pgbackup/common.h>

enum pgb_target_kind {
    PGB_TARGET_LATEST = 0, /* the end of the archive */
    PGB_TARGET_IMMEDIATE,  /* the backup's consistent point */
    PGB_TARGET_TIME,
    PGB_TARGET_LSN,
    PGB_TARGET_XID,
    PGB_TARGET_NAME
};

enum pgb_timeline_choice {
    PGB_TIMELINE_LATEST = 0,  /* the newest timeline descending from the backup's (PostgreSQL's default) */
    PGB_TIMELINE_CURRENT = 1, /* the backup's own */
    PGB_TIMELINE_NUMBER = 2
};

struct pgb_recovery_target {
    int kind;          /* enum pgb_target_kind */
    const char *value; /* as given (time, LSN, xid, name); owned by the options */
    int64_t time;      /* PGB_TARGET_TIME: microseconds since the epoch, UTC */
    uint64_t lsn;      /* PGB_TARGET_LSN */
    int inclusive;
    int timeline_choice; /* enum pgb_timeline_choice */
    uint32_t timeline;   /* PGB_TIMELINE_NUMBER */
    const char *action;  /* "pause", "promote" or "shutdown" */
};

/*
 * Read the target from opts (NULL: latest). At most one target may be given.
 * @return 0, or PGB_EINVALID naming the option at fault
 */
int pgb_recovery_target_read(pgb_ctx *ctx, const pgb_options *opts, struct pgb_recovery_target *out);

/* "latest", "immediate", "time", "lsn", "xid", "name". */
const char *pgb_recovery_target_kind_name(int kind);

/* "latest", "current" or the number, into out. */
const char *pgb_recovery_target_timeline_text(const struct pgb_recovery_target *t, char out[16]);

#endif
