#include "core/context.h"

#include <stdlib.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>

#include "core/error.h"
#include "core/handle.h"

int pgb_ctx_is_valid(const struct pgb_ctx *ctx)
{
    return ctx != NULL && ctx->magic == PGB_MAGIC_CTX;
}

int pgb_ctx_new(pgb_ctx **out)
{
    if (!out)
        return PGB_EINVALID;
    *out = NULL;
    pgb_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return PGB_ENOMEM;
    ctx->magic = PGB_MAGIC_CTX;
    ctx->log_max_level = PGB_LOG_INFO;
    atomic_init(&ctx->canceled, 0);
    *out = ctx;
    return PGB_OK;
}

void pgb_ctx_free(pgb_ctx *ctx)
{
    if (!pgb_ctx_is_valid(ctx))
        return;
    pgb_error_clear(ctx);
    ctx->magic = PGB_MAGIC_FREED;
    free(ctx);
}

void pgb_free(void *ptr)
{
    free(ptr);
}
