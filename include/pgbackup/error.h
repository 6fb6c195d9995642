/*
 * libpgbackup: error codes and how to read an error's details.
 *
 * Every function that can fail returns an int: 0 on success, a negative PGB_E*
 * code otherwise. The code, message and detail of the last failure are kept in
 * the context (never in thread-local storage) and stay valid until the next call
 * that uses the same context.
 */
#ifndef PGBACKUP_ERROR_H
#define PGBACKUP_ERROR_H

#include "common.h"

PGB_BEGIN_DECLS

/** Status codes. Values never change; new codes are only added. */
typedef enum pgb_status {
    PGB_OK = 0,            /**< success */
    PGB_ERROR = -1,        /**< failure not covered by a more precise code */
    PGB_ENOMEM = -2,       /**< out of memory */
    PGB_EINVALID = -3,     /**< invalid argument, option value or usage */
    PGB_ENOTFOUND = -4,    /**< the named object does not exist */
    PGB_EEXISTS = -5,      /**< the object exists already */
    PGB_ECORRUPT = -6,     /**< damaged or missing data was found */
    PGB_ECONNECTION = -7,  /**< cannot reach or talk to PostgreSQL or a storage server */
    PGB_EIO = -8,          /**< input/output error from the operating system */
    PGB_ECANCELED = -9,    /**< stopped on request (cancel flag or progress callback) */
    PGB_EUNSUPPORTED = -10,/**< not supported by this version, server or format */
    PGB_EREFUSED = -11,    /**< refused for safety (non-empty target, running server) */
    PGB_ELOCKED = -12,     /**< a lock is held by another process */
    PGB_EAUTH = -13,       /**< cannot decrypt or authenticate: wrong key or credentials */
    PGB_ITEROVER = -14     /**< an iteration has no more items (not a failure) */
} pgb_status;

/**
 * Code of the last failure recorded in the context.
 *
 * @param ctx  a context; NULL gives PGB_EINVALID
 * @return the last PGB_E* code, or PGB_OK when the last call succeeded
 */
PGB_EXTERN int pgb_ctx_errcode(const pgb_ctx *ctx);

/**
 * Message of the last failure: what failed and on which object.
 *
 * @param ctx  a context
 * @return a string owned by the context, valid until its next call; "" when the
 *         last call succeeded; a fixed message when ctx is NULL or not a context
 */
PGB_EXTERN const char *pgb_ctx_errmsg(const pgb_ctx *ctx);

/**
 * Further detail of the last failure (a server's message, a hint), if any.
 *
 * @param ctx  a context
 * @return a string owned by the context, valid until its next call; "" if none
 */
PGB_EXTERN const char *pgb_ctx_errdetail(const pgb_ctx *ctx);

/**
 * Symbolic name of a status code, such as "PGB_ENOTFOUND".
 *
 * @param code  a status code
 * @return a static string; "PGB_UNKNOWN" for a code this version does not know
 */
PGB_EXTERN const char *pgb_status_name(int code);

PGB_END_DECLS

#endif /* PGBACKUP_ERROR_H */
