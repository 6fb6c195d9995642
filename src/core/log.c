#include "core/log.h"

#include <stdarg.h>
#include <stdlib.h>

#include <pgbackup/error.h>

#include "core/context.h"
#include "core/error.h"
#include "core/text.h"

static const char *const level_names[] = {"error", "warning", "info", "debug"};
enum { LEVEL_COUNT = sizeof(level_names) / sizeof(level_names[0]) };

int pgb_ctx_set_log(pgb_ctx *ctx, pgb_log_fn fn, void *payload, int max_level)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    if (max_level < PGB_LOG_ERROR || max_level > PGB_LOG_DEBUG)
        return pgb_error_set(ctx, PGB_EINVALID, "log level %d is out of range (%d to %d)",
                             max_level, PGB_LOG_ERROR, PGB_LOG_DEBUG);
    ctx->log_fn = fn;
    ctx->log_payload = payload;
    ctx->log_max_level = max_level;
    return PGB_OK;
}

int pgb_log_level_from_name(const char *name)
{
    if (!name)
        return PGB_EINVALID;
    for (int i = 0; i < LEVEL_COUNT; i++)
        if (pgb_text_equal_nocase(name, level_names[i]))
            return i;
    return PGB_EINVALID;
}

const char *pgb_log_level_name(int level)
{
    if (level < 0 || level >= LEVEL_COUNT)
        return "unknown";
    return level_names[level];
}

void pgb_log(pgb_ctx *ctx, int level, const char *fmt, ...)
{
    if (!pgb_ctx_is_valid(ctx) || !ctx->log_fn || level > ctx->log_max_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *message = pgb_text_vprintf(fmt, ap);
    va_end(ap);
    if (!message)
        return;
    ctx->log_fn(level, message, ctx->log_payload);
    free(message);
}
