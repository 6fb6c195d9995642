/*
 * Recording errors in a context. The first failure sets the error with what
 * failed and on which object; callers add context only where it helps.
 */
#ifndef PGB_CORE_ERROR_H
#define PGB_CORE_ERROR_H

#include <pgbackup/common.h>

/* Forget the last error: every public entry point calls this first. */
void pgb_error_clear(pgb_ctx *ctx);

/* Record an error; returns code, so that "return pgb_error_set(...)" reads well. */
int pgb_error_set(pgb_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Attach a detail (a server's message, a hint) to the error just recorded. */
void pgb_error_set_detail(pgb_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Put "prefix: " before the current message, keeping code and detail. */
void pgb_error_prefix(pgb_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record PGB_ENOMEM with a fixed message (allocates nothing). */
int pgb_error_nomem(pgb_ctx *ctx);

#endif
