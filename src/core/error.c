#include "core/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/context.h"
#include "core/text.h"

static const char nomem_message[] = "out of memory";

static void replace(char **slot, char *text)
{
    if (*slot != nomem_message)
        free(*slot);
    *slot = text;
}

void pgb_error_clear(pgb_ctx *ctx)
{
    if (!pgb_ctx_is_valid(ctx))
        return;
    ctx->errcode = PGB_OK;
    replace(&ctx->errmsg, NULL);
    replace(&ctx->errdetail, NULL);
}

int pgb_error_nomem(pgb_ctx *ctx)
{
    if (pgb_ctx_is_valid(ctx)) {
        ctx->errcode = PGB_ENOMEM;
        replace(&ctx->errmsg, (char *)nomem_message);
        replace(&ctx->errdetail, NULL);
    }
    return PGB_ENOMEM;
}

int pgb_error_set(pgb_ctx *ctx, int code, const char *fmt, ...)
{
    if (!pgb_ctx_is_valid(ctx))
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *message = pgb_text_vprintf(fmt, ap);
    va_end(ap);
    if (!message)
        return pgb_error_nomem(ctx);
    ctx->errcode = code;
    replace(&ctx->errmsg, message);
    replace(&ctx->errdetail, NULL);
    return code;
}

void pgb_error_set_detail(pgb_ctx *ctx, const char *fmt, ...)
{
    if (!pgb_ctx_is_valid(ctx))
        return;
    va_list ap;
    va_start(ap, fmt);
    char *detail = pgb_text_vprintf(fmt, ap);
    va_end(ap);
    if (detail) {
        /* Server messages end with a newline; a detail is one clean block. */
        size_t len = strlen(detail);
        while (len > 0 && (detail[len - 1] == '\n' || detail[len - 1] == ' '))
            detail[--len] = '\0';
    }
    replace(&ctx->errdetail, detail);
}

void pgb_error_prefix(pgb_ctx *ctx, const char *fmt, ...)
{
    if (!pgb_ctx_is_valid(ctx) || ctx->errcode == PGB_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *prefix = pgb_text_vprintf(fmt, ap);
    va_end(ap);
    if (!prefix)
        return;
    char *joined = pgb_text_printf("%s: %s", prefix, ctx->errmsg ? ctx->errmsg : "");
    free(prefix);
    if (joined)
        replace(&ctx->errmsg, joined);
}

int pgb_ctx_errcode(const pgb_ctx *ctx)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    return ctx->errcode;
}

const char *pgb_ctx_errmsg(const pgb_ctx *ctx)
{
    if (!ctx)
        return "no context given (NULL)";
    if (!pgb_ctx_is_valid(ctx))
        return "not a live pgb_ctx (freed, or another kind of handle)";
    return ctx->errmsg ? ctx->errmsg : "";
}

const char *pgb_ctx_errdetail(const pgb_ctx *ctx)
{
    if (!pgb_ctx_is_valid(ctx))
        return "";
    return ctx->errdetail ? ctx->errdetail : "";
}

const char *pgb_status_name(int code)
{
    switch (code) {
    case PGB_OK: return "PGB_OK";
    case PGB_ERROR: return "PGB_ERROR";
    case PGB_ENOMEM: return "PGB_ENOMEM";
    case PGB_EINVALID: return "PGB_EINVALID";
    case PGB_ENOTFOUND: return "PGB_ENOTFOUND";
    case PGB_EEXISTS: return "PGB_EEXISTS";
    case PGB_ECORRUPT: return "PGB_ECORRUPT";
    case PGB_ECONNECTION: return "PGB_ECONNECTION";
    case PGB_EIO: return "PGB_EIO";
    case PGB_ECANCELED: return "PGB_ECANCELED";
    case PGB_EUNSUPPORTED: return "PGB_EUNSUPPORTED";
    case PGB_EREFUSED: return "PGB_EREFUSED";
    case PGB_ELOCKED: return "PGB_ELOCKED";
    case PGB_EAUTH: return "PGB_EAUTH";
    case PGB_ITEROVER: return "PGB_ITEROVER";
    default: return "PGB_UNKNOWN";
    }
}
