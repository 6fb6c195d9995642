#include "pg/server_facts.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/handle.h"
#include "core/text.h"
#include "pg/archiver_facts.h"
#include "pg/connection.h"

/* One round trip for everything an ordinary role may read. */
static const char facts_query[] =
    "SELECT current_setting('server_version_num'), current_setting('server_version'),"
    " current_setting('data_checksums'), current_setting('wal_level'),"
    " current_setting('archive_mode'), current_setting('max_wal_senders'),"
    " (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),"
    " pg_is_in_recovery(), r.rolsuper, r.rolreplication, current_user"
    " FROM pg_roles r WHERE r.rolname = current_user";

/* Needs superuser or an explicit grant; IDENTIFY_SYSTEM is the fallback. */
static const char control_query[] =
    "SELECT s.system_identifier::text, c.timeline_id"
    " FROM pg_control_system() s, pg_control_checkpoint() c";

static int is_true(const char *v)
{
    return v && (strcmp(v, "t") == 0 || strcmp(v, "on") == 0);
}

static int read_sql_facts(pgb_ctx *ctx, PGconn *conn, struct pgb_server_info *info)
{
    PGresult *res;
    int rc = pgb_pg_query(ctx, conn, facts_query, &res);
    if (rc != PGB_OK)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return pgb_error_set(ctx, PGB_ERROR, "cannot find the connected role in pg_roles");
    }
    info->version_num = atoi(PQgetvalue(res, 0, 0));
    info->version = pgb_text_dup(PQgetvalue(res, 0, 1));
    info->data_checksums = is_true(PQgetvalue(res, 0, 2));
    info->wal_level = pgb_text_dup(PQgetvalue(res, 0, 3));
    info->archive_mode = pgb_text_dup(PQgetvalue(res, 0, 4));
    info->max_wal_senders = atoi(PQgetvalue(res, 0, 5));
    info->wal_segment_size = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    info->in_recovery = is_true(PQgetvalue(res, 0, 7));
    info->role_superuser = is_true(PQgetvalue(res, 0, 8));
    info->role_replication = is_true(PQgetvalue(res, 0, 9));
    info->user = pgb_text_dup(PQgetvalue(res, 0, 10));
    PQclear(res);
    if (!info->version || !info->wal_level || !info->archive_mode || !info->user)
        return pgb_error_nomem(ctx);

    /* The control data is optional: an unprivileged role cannot read it. */
    PGresult *control = PQexec(conn, control_query);
    if (control && PQresultStatus(control) == PGRES_TUPLES_OK && PQntuples(control) == 1) {
        info->system_identifier = pgb_text_dup(PQgetvalue(control, 0, 0));
        info->timeline = strtol(PQgetvalue(control, 0, 1), NULL, 10);
    }
    PQclear(control);
    return PGB_OK;
}

/*
 * A replication connection proves what pg_hba.conf and the role allow, and its
 * IDENTIFY_SYSTEM gives the system identifier to roles that cannot read the
 * control data through SQL. Failure here is a fact to report, not an error.
 */
static void read_replication_facts(pgb_ctx *ctx, const char *conninfo, struct pgb_server_info *info)
{
    PGconn *conn = NULL;
    PGresult *res = NULL;
    if (pgb_pg_connect(ctx, conninfo, PGB_PG_REPLICATION, &conn) == PGB_OK &&
        pgb_pg_query(ctx, conn, "IDENTIFY_SYSTEM", &res) == PGB_OK) {
        info->replication_ok = 1;
        if (!info->system_identifier)
            info->system_identifier = pgb_text_dup(PQgetvalue(res, 0, 0));
        if (!info->timeline)
            info->timeline = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    } else {
        const char *detail = pgb_ctx_errdetail(ctx);
        info->replication_error = pgb_text_printf("%s%s%s", pgb_ctx_errmsg(ctx), *detail ? ": " : "", detail);
        pgb_error_clear(ctx);
    }
    PQclear(res);
    PQfinish(conn);
}

static void add_problems(const struct pgb_server_info *info, json_t *problems)
{
    if (strcmp(info->wal_level, "minimal") == 0)
        json_array_append_new(problems, json_string("wal_level is minimal: physical backups and WAL "
                                                    "archiving need replica or logical"));
    if (!info->role_superuser && !info->role_replication)
        json_array_append_new(problems, json_string("the role has neither SUPERUSER nor REPLICATION: "
                                                    "physical backups need one of them"));
    if (!info->replication_ok)
        json_array_append_new(problems, json_string("a replication connection was refused: check "
                                                    "pg_hba.conf and max_wal_senders"));
    if (!info->data_checksums)
        json_array_append_new(problems, json_string("data checksums are off: damaged pages cannot be "
                                                    "detected during backups"));
    json_t *archiver = info->archiver;
    if (json_is_true(json_object_get(archiver, "failing")))
        json_array_append_new(problems, json_sprintf("WAL archiving is failing: the last attempt, for %s, failed "
                                                     "(see the server log for archive_command's error)",
                                                     json_string_value(json_object_get(archiver, "last_failed_wal"))
                                                         ?: "?"));
    if (strcmp(info->archive_mode, "off") == 0)
        json_array_append_new(problems, json_string("archive_mode is off: no WAL archive, so no "
                                                    "point-in-time recovery"));
}

static json_t *nullable_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int build_json(pgb_ctx *ctx, struct pgb_server_info *info)
{
    json_t *problems = json_array();
    json_t *doc = json_object();
    if (!problems || !doc) {
        json_decref(problems);
        json_decref(doc);
        return pgb_error_nomem(ctx);
    }
    add_problems(info, problems);
    json_object_set_new(doc, "format_version", json_integer(1));
    json_object_set_new(doc, "host", nullable_string(info->host));
    json_object_set_new(doc, "port", nullable_string(info->port));
    json_object_set_new(doc, "user", nullable_string(info->user));
    json_object_set_new(doc, "server_version", nullable_string(info->version));
    json_object_set_new(doc, "server_version_num", json_integer(info->version_num));
    json_object_set_new(doc, "system_identifier", nullable_string(info->system_identifier));
    json_object_set_new(doc, "timeline", info->timeline ? json_integer(info->timeline) : json_null());
    json_object_set_new(doc, "in_recovery", json_boolean(info->in_recovery));
    json_object_set_new(doc, "data_checksums", json_boolean(info->data_checksums));
    json_object_set_new(doc, "wal_level", nullable_string(info->wal_level));
    json_object_set_new(doc, "archive_mode", nullable_string(info->archive_mode));
    json_object_set_new(doc, "max_wal_senders", json_integer(info->max_wal_senders));
    json_object_set_new(doc, "wal_segment_size", json_integer(info->wal_segment_size));
    json_object_set_new(doc, "role_superuser", json_boolean(info->role_superuser));
    json_object_set_new(doc, "role_replication", json_boolean(info->role_replication));
    json_object_set_new(doc, "role_can_replicate",
                        json_boolean(info->role_superuser || info->role_replication));
    json_object_set_new(doc, "replication_connection_ok", json_boolean(info->replication_ok));
    json_object_set_new(doc, "replication_connection_error", nullable_string(info->replication_error));
    json_object_set(doc, "archiver", info->archiver ? (json_t *)info->archiver : json_null());
    json_object_set_new(doc, "problems", problems);
    info->json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return info->json ? PGB_OK : pgb_error_nomem(ctx);
}

void pgb_server_facts_free(struct pgb_server_info *info)
{
    if (!info)
        return;
    free(info->host);
    free(info->port);
    free(info->user);
    free(info->version);
    free(info->system_identifier);
    free(info->wal_level);
    free(info->archive_mode);
    free(info->replication_error);
    free(info->json);
    json_decref(info->archiver);
    info->magic = PGB_MAGIC_FREED;
    free(info);
}

int pgb_server_facts_read(pgb_ctx *ctx, const char *conninfo, struct pgb_server_info **out)
{
    *out = NULL;
    struct pgb_server_info *info = calloc(1, sizeof(*info));
    if (!info)
        return pgb_error_nomem(ctx);
    info->magic = PGB_MAGIC_SERVER_INFO;
    PGconn *conn = NULL;
    int rc = pgb_pg_connect(ctx, conninfo, PGB_PG_SQL, &conn);
    if (rc != PGB_OK)
        goto done;
    info->host = pgb_text_dup(PQhost(conn));
    info->port = pgb_text_dup(PQport(conn));
    rc = read_sql_facts(ctx, conn, info);
    if (rc != PGB_OK)
        goto done;
    info->archiver = pgb_archiver_facts_read(conn);
    read_replication_facts(ctx, conninfo, info);
    rc = build_json(ctx, info);
done:
    PQfinish(conn);
    if (rc != PGB_OK)
        pgb_server_facts_free(info);
    else
        *out = info;
    return rc;
}
