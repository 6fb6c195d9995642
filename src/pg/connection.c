#include "pg/connection.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/progress.h"

#define CANCEL_DRAIN_MS 10000

void pgb_pg_describe(PGconn *conn, char *out, size_t size)
{
    const char *host = PQhost(conn);
    const char *port = PQport(conn);
    snprintf(out, size, "host=%s port=%s", host && *host ? host : "(default)",
             port && *port ? port : "(default)");
}

/* name_key: "application_name" (ours wins) or "fallback_application_name" (the conninfo's wins). */
static int connect_as(pgb_ctx *ctx, const char *conninfo, int mode, const char *name_key, const char *name,
                      PGconn **out)
{
    *out = NULL;
    /*
     * expand_dbname lets "dbname" carry a whole conninfo or URI, and keys given
     * after it (replication, application_name) take effect on top of it.
     */
    const char *keys[] = {"dbname", name_key, "replication", NULL};
    const char *values[] = {conninfo && *conninfo ? conninfo : NULL, name,
                            mode == PGB_PG_REPLICATION ? "true" : NULL, NULL};
    if (!values[0]) {
        keys[0] = name_key;
        values[0] = name;
        keys[1] = mode == PGB_PG_REPLICATION ? "replication" : NULL;
        values[1] = mode == PGB_PG_REPLICATION ? "true" : NULL;
        keys[2] = NULL;
    } else if (mode != PGB_PG_REPLICATION) {
        keys[2] = NULL;
    }
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn)
        return pgb_error_nomem(ctx);
    if (PQstatus(conn) != CONNECTION_OK) {
        char where[256];
        pgb_pg_describe(conn, where, sizeof(where));
        pgb_error_set(ctx, PGB_ECONNECTION, "cannot connect to PostgreSQL (%s%s)", where,
                      mode == PGB_PG_REPLICATION ? ", replication" : "");
        pgb_error_set_detail(ctx, "%s", PQerrorMessage(conn));
        PQfinish(conn);
        return PGB_ECONNECTION;
    }
    *out = conn;
    return PGB_OK;
}

int pgb_pg_connect(pgb_ctx *ctx, const char *conninfo, int mode, PGconn **out)
{
    return connect_as(ctx, conninfo, mode, "application_name", "pgbackup", out);
}

int pgb_pg_connect_named(pgb_ctx *ctx, const char *conninfo, int mode, const char *fallback_name, PGconn **out)
{
    return connect_as(ctx, conninfo, mode, "fallback_application_name", fallback_name, out);
}

int pgb_pg_query(pgb_ctx *ctx, PGconn *conn, const char *sql, PGresult **out)
{
    *out = NULL;
    PGresult *res = PQexec(conn, sql);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        char where[256];
        pgb_pg_describe(conn, where, sizeof(where));
        pgb_error_set(ctx, PGB_ECONNECTION, "query failed on PostgreSQL (%s): %s", where, sql);
        pgb_error_set_detail(ctx, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        PQclear(res);
        return PGB_ECONNECTION;
    }
    *out = res;
    return PGB_OK;
}

static int query_failed(pgb_ctx *ctx, PGconn *conn, const char *sql, PGresult *res)
{
    char where[256];
    pgb_pg_describe(conn, where, sizeof(where));
    pgb_error_set(ctx, PGB_ECONNECTION, "query failed on PostgreSQL (%s): %s", where, sql);
    pgb_error_set_detail(ctx, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    return PGB_ECONNECTION;
}

/* Wait up to timeout_ms for input and read it in: 0, or -1 when the connection broke. */
static int wait_input(PGconn *conn, int timeout_ms)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    if (pfd.fd < 0)
        return -1;
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return -1;
    return PQconsumeInput(conn) ? 0 : -1;
}

/* Ask the server to cancel the running query and read what is left, so the connection is idle again. */
static void cancel_query(PGconn *conn)
{
    PGcancel *cancel = PQgetCancel(conn);
    if (cancel) {
        char message[256];
        PQcancel(cancel, message, sizeof(message));
        PQfreeCancel(cancel);
    }
    uint64_t deadline = pgb_monotonic_ms() + CANCEL_DRAIN_MS;
    while (pgb_monotonic_ms() < deadline) {
        if (PQisBusy(conn)) {
            if (wait_input(conn, 500) != 0)
                return;
            continue;
        }
        PGresult *res = PQgetResult(conn);
        if (!res)
            return;
        PQclear(res);
    }
}

int pgb_pg_query_params(pgb_ctx *ctx, PGconn *conn, const char *sql, int count, const char *const *values,
                        PGresult **out)
{
    *out = NULL;
    if (!PQsendQueryParams(conn, sql, count, NULL, values, NULL, NULL, 0))
        return query_failed(ctx, conn, sql, NULL);
    while (PQisBusy(conn)) {
        if (pgb_ctx_is_canceled(ctx)) {
            cancel_query(conn);
            return pgb_check_canceled(ctx);
        }
        if (wait_input(conn, 500) != 0)
            return query_failed(ctx, conn, sql, NULL);
    }
    PGresult *res = PQgetResult(conn), *extra;
    while ((extra = PQgetResult(conn)) != NULL)
        PQclear(extra);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        query_failed(ctx, conn, sql, res);
        PQclear(res);
        return PGB_ECONNECTION;
    }
    *out = res;
    return PGB_OK;
}
