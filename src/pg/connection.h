/*
 * Opening libpq connections with errors recorded in the context.
 */
#ifndef PGB_PG_CONNECTION_H
#define PGB_PG_CONNECTION_H

#include <libpq-fe.h>

#include <pgbackup/common.h>

enum pgb_pg_mode {
    PGB_PG_SQL = 0,        /* an ordinary connection */
    PGB_PG_REPLICATION = 1 /* replication=true: a physical walsender */
};

/*
 * Connect with a conninfo string or URI (NULL or "" means environment only);
 * parts left out come from PG* variables and the password file, as in psql.
 * On failure records PGB_ECONNECTION naming host and port, and *out is NULL.
 */
int pgb_pg_connect(pgb_ctx *ctx, const char *conninfo, int mode, PGconn **out);

/*
 * As pgb_pg_connect, with fallback_name as the application_name unless the
 * conninfo sets one: for a connection that synchronous_standby_names may name.
 */
int pgb_pg_connect_named(pgb_ctx *ctx, const char *conninfo, int mode, const char *fallback_name, PGconn **out);

/*
 * Run a query expecting rows (simple protocol, so it also works on replication
 * connections). Records PGB_ECONNECTION with the server's message on failure.
 */
int pgb_pg_query(pgb_ctx *ctx, PGconn *conn, const char *sql, PGresult **out);

/*
 * Run a query with text parameters (extended protocol) expecting rows, and
 * wait for it with the context's cancel flag looked at every half second:
 * for calls that may take long on the server, such as pg_backup_start()
 * waiting for its checkpoint. When the flag is set, the server is asked to
 * cancel the query and PGB_ECANCELED is returned once it has answered (or
 * after 10 s); the connection is then idle again or broken. Records
 * PGB_ECONNECTION with the server's message on failure.
 */
int pgb_pg_query_params(pgb_ctx *ctx, PGconn *conn, const char *sql, int count, const char *const *values,
                        PGresult **out);

/* "host=... port=..." of a connection, for messages; a static-size buffer. */
void pgb_pg_describe(PGconn *conn, char *out, size_t size);

#endif
