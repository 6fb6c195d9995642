#include "pg/connection.h"

#include <stdio.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

void pgb_pg_describe(PGconn *conn, char *out, size_t size)
{
    const char *host = PQhost(conn);
    const char *port = PQport(conn);
    snprintf(out, size, "host=%s port=%s", host && *host ? host : "(default)",
             port && *port ? port : "(default)");
}

int pgb_pg_connect(pgb_ctx *ctx, const char *conninfo, int mode, PGconn **out)
{
    *out = NULL;
    /*
     * expand_dbname lets "dbname" carry a whole conninfo or URI, and keys given
     * after it (replication, application_name) take effect on top of it.
     */
    const char *keys[] = {"dbname", "application_name", "replication", NULL};
    const char *values[] = {conninfo && *conninfo ? conninfo : NULL, "pgbackup",
                            mode == PGB_PG_REPLICATION ? "true" : NULL, NULL};
    if (!values[0]) {
        keys[0] = "application_name";
        values[0] = "pgbackup";
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
