#include "core/progress.h"

#include <time.h>

#include <pgbackup/error.h>

#include "core/context.h"
#include "core/error.h"

uint64_t pgb_monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

void pgb_progress_begin(struct pgb_progress *progress, const char *phase)
{
    *progress = (struct pgb_progress){.phase = phase, .started_ms = pgb_monotonic_ms()};
}

int pgb_check_canceled(pgb_ctx *ctx)
{
    if (atomic_load(&ctx->canceled))
        return pgb_error_set(ctx, PGB_ECANCELED, "operation canceled");
    return PGB_OK;
}

int pgb_progress_report(pgb_ctx *ctx, struct pgb_progress *progress)
{
    progress->elapsed_ms = pgb_monotonic_ms() - progress->started_ms;
    if (ctx->progress_fn && ctx->progress_fn(progress, ctx->progress_payload) != 0)
        return pgb_error_set(ctx, PGB_ECANCELED, "operation canceled by the progress callback during %s",
                             progress->phase ? progress->phase : "the operation");
    return pgb_check_canceled(ctx);
}

int pgb_ctx_set_progress(pgb_ctx *ctx, pgb_progress_fn fn, void *payload)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    ctx->progress_fn = fn;
    ctx->progress_payload = payload;
    return PGB_OK;
}

int pgb_ctx_cancel(pgb_ctx *ctx)
{
    /* No error recording here: this may run on another thread or in a signal handler. */
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    atomic_store(&ctx->canceled, 1);
    return PGB_OK;
}

int pgb_ctx_reset_cancel(pgb_ctx *ctx)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    atomic_store(&ctx->canceled, 0);
    return PGB_OK;
}

int pgb_ctx_is_canceled(const pgb_ctx *ctx)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    return atomic_load(&((pgb_ctx *)ctx)->canceled) ? 1 : 0;
}

const char *pgb_progress_phase(const pgb_progress *p) { return p && p->phase ? p->phase : ""; }
uint64_t pgb_progress_bytes_done(const pgb_progress *p) { return p ? p->bytes_done : 0; }
uint64_t pgb_progress_bytes_total(const pgb_progress *p) { return p ? p->bytes_total : 0; }
uint64_t pgb_progress_files_done(const pgb_progress *p) { return p ? p->files_done : 0; }
uint64_t pgb_progress_files_total(const pgb_progress *p) { return p ? p->files_total : 0; }
uint64_t pgb_progress_elapsed_ms(const pgb_progress *p) { return p ? p->elapsed_ms : 0; }
