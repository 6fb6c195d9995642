/*
 * Turning an OpenSSL failure into a recorded error. OpenSSL keeps a queue of
 * reasons per thread; we read the newest one into the ctx and empty the queue
 * so that it cannot leak into a later, unrelated error.
 */
#ifndef PGB_PIPELINE_CRYPTO_ERROR_H
#define PGB_PIPELINE_CRYPTO_ERROR_H

#include <pgbackup/common.h>

/* Record code with "<what>: <OpenSSL's reason>"; returns code. */
int pgb_crypto_error(pgb_ctx *ctx, int code, const char *what);

/* Forget OpenSSL's queued reasons (after a failure that we report ourselves). */
void pgb_crypto_error_discard(void);

#endif
