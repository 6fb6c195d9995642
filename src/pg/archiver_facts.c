#include "pg/archiver_facts.h"

#include <stdlib.h>

/* Times in ISO 8601 with an offset, UTC, as every report writes them. */
static const char archiver_query[] =
    "SELECT archived_count, last_archived_wal,"
    " to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'),"
    " extract(epoch FROM now() - last_archived_time)::bigint,"
    " failed_count, last_failed_wal,"
    " to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'),"
    " coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false)"
    " FROM pg_stat_archiver";

/* Needs pg_monitor or superuser: its absence is not an error. */
static const char ready_query[] =
    "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'";

static json_t *text_or_null(PGresult *res, int column)
{
    return PQgetisnull(res, 0, column) ? json_null() : json_string(PQgetvalue(res, 0, column));
}

static json_t *integer_or_null(PGresult *res, int column)
{
    return PQgetisnull(res, 0, column) ? json_null() : json_integer(strtoll(PQgetvalue(res, 0, column), NULL, 10));
}

json_t *pgb_archiver_facts_read(PGconn *conn)
{
    PGresult *res = PQexec(conn, archiver_query);
    json_t *facts = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        facts = json_object();
        json_object_set_new(facts, "archived_count", integer_or_null(res, 0));
        json_object_set_new(facts, "last_archived_wal", text_or_null(res, 1));
        json_object_set_new(facts, "last_archived_time", text_or_null(res, 2));
        json_object_set_new(facts, "seconds_since_last_archived", integer_or_null(res, 3));
        json_object_set_new(facts, "failed_count", integer_or_null(res, 4));
        json_object_set_new(facts, "last_failed_wal", text_or_null(res, 5));
        json_object_set_new(facts, "last_failed_time", text_or_null(res, 6));
        json_object_set_new(facts, "failing", json_boolean(PQgetvalue(res, 0, 7)[0] == 't'));
    }
    PQclear(res);
    if (!facts)
        return NULL;
    res = PQexec(conn, ready_query);
    json_object_set_new(facts, "ready_count",
                        PQresultStatus(res) == PGRES_TUPLES_OK ? integer_or_null(res, 0) : json_null());
    PQclear(res);
    return facts;
}
