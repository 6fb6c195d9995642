#include "restore/drill_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/text.h"

/* The conninfo of another database on the same server. */
static char *conninfo_for(const char *conninfo, const char *database)
{
    char *escaped = malloc(2 * strlen(database) + 1), *w = escaped;
    if (!escaped)
        return NULL;
    for (const char *p = database; *p; p++) {
        if (*p == '\'' || *p == '\\')
            *w++ = '\\';
        *w++ = *p;
    }
    *w = '\0';
    char *out = pgb_text_printf("%s dbname='%s'", conninfo, escaped);
    free(escaped);
    return out;
}

static char *trimmed(const char *start, size_t len)
{
    while (len && (*start == ' ' || *start == '\t'))
        start++, len--;
    while (len && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, start, len);
        out[len] = '\0';
    }
    return out;
}

static void message_of(PGconn *conn, char *out, size_t size)
{
    snprintf(out, size, "%s", PQerrorMessage(conn));
    out[strcspn(out, "\n")] = '\0';
}

int pgb_drill_run_probes(const char *conninfo, const char *const *probes, size_t count, json_t *results)
{
    int failed = 0;
    PGconn *conn = count ? PQconnectdb(conninfo) : NULL;
    for (size_t i = 0; i < count; i++) {
        const char *arrow = NULL;
        for (const char *p = strstr(probes[i], "=>"); p; p = strstr(p + 2, "=>"))
            arrow = p; /* the last one: SQL may hold "=>" itself */
        char *sql = trimmed(probes[i], arrow ? (size_t)(arrow - probes[i]) : strlen(probes[i]));
        char *expected = arrow ? trimmed(arrow + 2, strlen(arrow + 2)) : NULL;
        char error[1200] = "", got[512] = "";
        int got_value = 0;
        if (PQstatus(conn) != CONNECTION_OK) {
            message_of(conn, error, sizeof(error));
        } else {
            PGresult *res = PQexec(conn, sql ? sql : "");
            ExecStatusType status = PQresultStatus(res);
            if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
                message_of(conn, error, sizeof(error));
            } else if (status == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0) {
                snprintf(got, sizeof(got), "%s", PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
                got_value = 1;
            }
            PQclear(res);
        }
        int passed = !error[0] && (!expected || (got_value && strcmp(got, expected) == 0));
        if (!passed && !error[0] && expected)
            snprintf(error, sizeof(error), "expected %.500s, got %s", expected, got_value ? got : "no row");
        failed += !passed;
        json_array_append_new(results, json_pack("{s:s, s:s?, s:s?, s:b, s:s?}", "sql", sql ? sql : "", "expected",
                                                 expected, "got", got_value ? got : NULL, "passed", passed, "error",
                                                 error[0] ? error : NULL));
        free(sql);
        free(expected);
    }
    PQfinish(conn);
    return failed;
}

static void add_check(json_t *results, int *failed, const char *name, int passed, const char *detail)
{
    *failed += !passed;
    json_array_append_new(results, json_pack("{s:s, s:b, s:s}", "name", name, "passed", passed, "detail", detail));
}

/* A one-value query; NULL on error, with the message in error. */
static char *value_of(PGconn *conn, const char *sql, char *error, size_t size)
{
    PGresult *res = PQexec(conn, sql);
    char *out = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        out = pgb_text_dup(PQgetvalue(res, 0, 0));
    else
        message_of(conn, error, size);
    PQclear(res);
    return out;
}

static void check_amcheck(PGconn *conn, const char *database, json_t *results, int *failed)
{
    char error[512] = "", name[300], detail[700];
    snprintf(name, sizeof(name), "amcheck %s", database);
    char *available = value_of(conn, "SELECT count(*) FROM pg_available_extensions WHERE name = 'amcheck'", error,
                               sizeof(error));
    int present = available && strcmp(available, "1") == 0;
    free(available);
    if (!present)
        return;
    PGresult *res = PQexec(conn, "CREATE EXTENSION IF NOT EXISTS amcheck");
    int created = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    char *checked = created ? value_of(conn,
                                       "SELECT count(bt_index_check(c.oid)) FROM pg_index i "
                                       "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
                                       "WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready "
                                       "AND c.relpersistence <> 't'",
                                       error, sizeof(error))
                            : NULL;
    if (!created)
        message_of(conn, error, sizeof(error));
    if (checked)
        snprintf(detail, sizeof(detail), "%s btree indexes checked", checked);
    else
        snprintf(detail, sizeof(detail), "%s", error);
    add_check(results, failed, name, checked != NULL, detail);
    free(checked);
}

static void check_largest_tables(PGconn *conn, const char *database, json_t *results, int *failed)
{
    PGresult *res = PQexec(conn, "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = "
                                 "c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', "
                                 "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                                 "ORDER BY c.relpages DESC, c.oid LIMIT 3");
    for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++) {
        const char *table = PQgetvalue(res, i, 0);
        char *sql = pgb_text_printf("SELECT count(*) FROM %s", table);
        char error[512] = "", name[600], detail[600];
        char *rows = sql ? value_of(conn, sql, error, sizeof(error)) : NULL;
        snprintf(name, sizeof(name), "rows %s.%s", database, table);
        snprintf(detail, sizeof(detail), "%s%s", rows ? rows : error, rows ? " rows" : "");
        add_check(results, failed, name, rows != NULL, detail);
        free(rows);
        free(sql);
    }
    PQclear(res);
}

int pgb_drill_run_checks(const char *conninfo, json_t *results)
{
    int failed = 0;
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *dbs = PQstatus(conn) == CONNECTION_OK
                        ? PQexec(conn, "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname")
                        : NULL;
    if (PQresultStatus(dbs) != PGRES_TUPLES_OK) {
        char error[512];
        message_of(conn, error, sizeof(error));
        add_check(results, &failed, "list databases", 0, error);
    }
    for (int i = 0; PQresultStatus(dbs) == PGRES_TUPLES_OK && i < PQntuples(dbs); i++) {
        const char *database = PQgetvalue(dbs, i, 0);
        char *info = conninfo_for(conninfo, database);
        PGconn *db = info ? PQconnectdb(info) : NULL;
        char name[300], error[512] = "", detail[600];
        snprintf(name, sizeof(name), "connect %s", database);
        char *relations = PQstatus(db) == CONNECTION_OK ? value_of(db, "SELECT count(*) FROM pg_class", error,
                                                                   sizeof(error))
                                                        : NULL;
        if (PQstatus(db) != CONNECTION_OK)
            message_of(db, error, sizeof(error));
        snprintf(detail, sizeof(detail), "%s%s", relations ? relations : error, relations ? " relations" : "");
        add_check(results, &failed, name, relations && atol(relations) > 0, detail);
        if (relations) {
            check_amcheck(db, database, results, &failed);
            check_largest_tables(db, database, results, &failed);
        }
        free(relations);
        PQfinish(db);
        free(info);
    }
    PQclear(dbs);
    PQfinish(conn);
    return failed;
}

json_t *pgb_drill_reached(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *res = PQstatus(conn) == CONNECTION_OK
                        ? PQexec(conn, "SELECT pg_last_wal_replay_lsn()::text, "
                                       "to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', "
                                       "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
                                       "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int")
                        : NULL;
    json_t *out = json_pack("{s:n, s:n, s:n}", "lsn", "time", "timeline");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        if (!PQgetisnull(res, 0, 0))
            json_object_set_new(out, "lsn", json_string(PQgetvalue(res, 0, 0)));
        if (!PQgetisnull(res, 0, 1))
            json_object_set_new(out, "time", json_string(PQgetvalue(res, 0, 1)));
        if (!PQgetisnull(res, 0, 2))
            json_object_set_new(out, "timeline", json_integer(atol(PQgetvalue(res, 0, 2))));
    }
    PQclear(res);
    PQfinish(conn);
    return out;
}
