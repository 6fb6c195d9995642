/*
 * libpgbackup: log messages.
 *
 * The library prints nothing itself. A program that wants messages installs a
 * callback on its context; without one the library is silent.
 */
#ifndef PGBACKUP_LOG_H
#define PGBACKUP_LOG_H

#include "common.h"

PGB_BEGIN_DECLS

/** Severity of a log message; a larger value is more verbose. */
typedef enum pgb_log_level {
    PGB_LOG_ERROR = 0,
    PGB_LOG_WARNING = 1,
    PGB_LOG_INFO = 2,
    PGB_LOG_DEBUG = 3
} pgb_log_level;

/**
 * Receives one log message. Called only on the thread that called into the
 * library with this context.
 *
 * @param level    a pgb_log_level
 * @param message  one line without a trailing newline; valid during the call only
 * @param payload  the pointer given to pgb_ctx_set_log()
 */
typedef void (*pgb_log_fn)(int level, const char *message, void *payload);

/**
 * Install (or, with fn NULL, remove) the log callback of a context.
 *
 * @param ctx        a context
 * @param fn         the callback, or NULL for silence
 * @param payload    passed to every call of fn
 * @param max_level  the most verbose pgb_log_level delivered
 * @return 0, or PGB_EINVALID for a bad context or level
 */
PGB_EXTERN int pgb_ctx_set_log(pgb_ctx *ctx, pgb_log_fn fn, void *payload, int max_level);

/**
 * Parse a level name: "error", "warning", "info" or "debug".
 *
 * @param name  the name, in any case
 * @return the pgb_log_level, or PGB_EINVALID for an unknown name
 */
PGB_EXTERN int pgb_log_level_from_name(const char *name);

/**
 * Name of a log level: "error", "warning", "info" or "debug".
 *
 * @param level  a pgb_log_level
 * @return a static string; "unknown" for any other value
 */
PGB_EXTERN const char *pgb_log_level_name(int level);

PGB_END_DECLS

#endif /* PGBACKUP_LOG_H */
