/*
 * Sending log messages to the context's callback.
 */
#ifndef PGB_CORE_LOG_H
#define PGB_CORE_LOG_H

#include <pgbackup/common.h>
#include <pgbackup/log.h>

/* Deliver one message if the context's callback wants this level. */
void pgb_log(pgb_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
