/*
 * libpgbackup: progress of long operations, and asking them to stop.
 */
#ifndef PGBACKUP_PROGRESS_H
#define PGBACKUP_PROGRESS_H

#include "common.h"

PGB_BEGIN_DECLS

/** A snapshot of an operation's progress, read through the accessors below. */
typedef struct pgb_progress pgb_progress;

/**
 * Receives progress. Called only on the thread that called into the library.
 *
 * @param progress  valid during the call only
 * @param payload   the pointer given to pgb_ctx_set_progress()
 * @return 0 to go on; any other value asks the operation to stop, and it then
 *         fails with PGB_ECANCELED
 */
typedef int (*pgb_progress_fn)(const pgb_progress *progress, void *payload);

/**
 * Install (or, with fn NULL, remove) the progress callback of a context.
 *
 * @param ctx      a context
 * @param fn       the callback, or NULL
 * @param payload  passed to every call of fn
 * @return 0, or PGB_EINVALID for a bad context
 */
PGB_EXTERN int pgb_ctx_set_progress(pgb_ctx *ctx, pgb_progress_fn fn, void *payload);

/** Name of the phase, such as "connect" or "copy"; owned by the snapshot. */
PGB_EXTERN const char *pgb_progress_phase(const pgb_progress *progress);
/** Bytes done so far in this operation. */
PGB_EXTERN uint64_t pgb_progress_bytes_done(const pgb_progress *progress);
/** Bytes expected in all, or 0 when not known. */
PGB_EXTERN uint64_t pgb_progress_bytes_total(const pgb_progress *progress);
/** Files (or objects) done so far. */
PGB_EXTERN uint64_t pgb_progress_files_done(const pgb_progress *progress);
/** Files (or objects) expected in all, or 0 when not known. */
PGB_EXTERN uint64_t pgb_progress_files_total(const pgb_progress *progress);
/** Milliseconds since the operation began. */
PGB_EXTERN uint64_t pgb_progress_elapsed_ms(const pgb_progress *progress);

/**
 * Ask every operation running on this context to stop as soon as it can; it
 * then fails with PGB_ECANCELED.
 *
 * Thread-safety: may be called from any thread, and from a signal handler,
 * while another thread uses the context.
 *
 * @param ctx  a context
 * @return 0, or PGB_EINVALID for a bad context
 */
PGB_EXTERN int pgb_ctx_cancel(pgb_ctx *ctx);

/**
 * Clear the cancel flag so that the context can run operations again.
 *
 * @param ctx  a context
 * @return 0, or PGB_EINVALID for a bad context
 */
PGB_EXTERN int pgb_ctx_reset_cancel(pgb_ctx *ctx);

/**
 * Whether the cancel flag is set. Thread-safe like pgb_ctx_cancel().
 *
 * @param ctx  a context
 * @return 1 when set, 0 when not, PGB_EINVALID for a bad context
 */
PGB_EXTERN int pgb_ctx_is_canceled(const pgb_ctx *ctx);

PGB_END_DECLS

#endif /* PGBACKUP_PROGRESS_H */
