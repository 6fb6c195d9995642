/*
 * The layout of pgb_ctx, shared by the core files that read or change it.
 */
#ifndef PGB_CORE_CONTEXT_H
#define PGB_CORE_CONTEXT_H

#include <stdatomic.h>
#include <stdint.h>

#include <pgbackup/log.h>
#include <pgbackup/progress.h>

struct pgb_ctx {
    uint32_t magic;
    int errcode;
    char *errmsg;    /* owned; NULL means "" */
    char *errdetail; /* owned; NULL means "" */
    pgb_log_fn log_fn;
    void *log_payload;
    int log_max_level;
    pgb_progress_fn progress_fn;
    void *progress_payload;
    atomic_int canceled; /* set from any thread or a signal handler */
};

/* Whether ctx points to a live context. */
int pgb_ctx_is_valid(const struct pgb_ctx *ctx);

#endif
