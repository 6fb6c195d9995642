/*
 * Reporting progress to the context's callback and checking for cancellation.
 */
#ifndef PGB_CORE_PROGRESS_H
#define PGB_CORE_PROGRESS_H

#include <pgbackup/progress.h>

struct pgb_progress {
    const char *phase;
    uint64_t bytes_done;
    uint64_t bytes_total;
    uint64_t files_done;
    uint64_t files_total;
    uint64_t started_ms; /* monotonic clock at the start of the operation */
    uint64_t elapsed_ms;
};

/* Start tracking an operation: zero the counters and note the start time. */
void pgb_progress_begin(struct pgb_progress *progress, const char *phase);

/*
 * Deliver the progress to the callback, if any. Returns PGB_ECANCELED (with the
 * error recorded) when the callback asks to stop or the cancel flag is set.
 */
int pgb_progress_report(pgb_ctx *ctx, struct pgb_progress *progress);

/* PGB_ECANCELED (recorded) when the cancel flag is set, else 0. Cheap. */
int pgb_check_canceled(pgb_ctx *ctx);

/* Milliseconds of a monotonic clock. */
uint64_t pgb_monotonic_ms(void);

#endif
