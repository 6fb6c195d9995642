/*
 * Planning a logical or globals restore: the backup, its table of contents,
 * the target server and database, the client programs and (for a selective
 * restore) the entries, all checked before anything changes.
 */
#include "logical/logical_restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/text.h"
#include "logical/backup_files.h"
#include "logical/logical_job.h"
#include "logical/logical_session.h"
#include "pg/connection.h"
#include "repo/catalog.h"
#include "repo/repo.h"

enum restore_state { RESTORE_PLANNED, RESTORE_RUNNING, RESTORE_DONE, RESTORE_FAILED };

static int is_restore(const pgb_logical_restore *r)
{
    return r && r->magic == PGB_MAGIC_LOGICAL_RESTORE && pgb_ctx_is_valid(r->ctx);
}

int pgb_logical_find_record(struct pgb_repo *repo, const char *id, const char *type, json_t **record)
{
    json_t *records = NULL;
    *record = NULL;
    int rc = pgb_catalog_read_all(repo, &records);
    for (size_t i = json_array_size(records); rc == PGB_OK && i > 0 && !*record; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *rid = json_string_value(json_object_get(r, "id"));
        const char *rtype = json_string_value(json_object_get(r, "type"));
        if (id ? rid && strcmp(rid, id) == 0 : rtype && strcmp(rtype, type) == 0)
            *record = json_incref(r);
    }
    json_decref(records);
    if (rc == PGB_OK && !*record)
        rc = id ? pgb_error_set(repo->ctx, PGB_ENOTFOUND, "backup %s not found in cluster %s", id, repo->cluster)
                : pgb_error_set(repo->ctx, PGB_ENOTFOUND, "cluster %s has no %s backup", repo->cluster, type);
    return rc;
}

int pgb_logical_exec(pgb_ctx *ctx, PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = PGB_OK;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        char *message = pgb_text_dup(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        rc = pgb_error_set(ctx, PQstatus(conn) == CONNECTION_OK ? PGB_ERROR : PGB_ECONNECTION, "%s: %s", sql,
                           message ? pgb_text_trim(message) : "failed");
        free(message);
    }
    PQclear(res);
    return rc;
}

static int copy_text(pgb_ctx *ctx, const pgb_options *opts, const char *key, char **out)
{
    const char *value = NULL;
    pgb_options_get(opts, key, &value);
    *out = value ? pgb_text_dup(value) : NULL;
    return !value || *out ? PGB_OK : pgb_error_nomem(ctx);
}

static int read_options(struct pgb_logical_restore *r, const pgb_options *opts)
{
    pgb_ctx *ctx = r->ctx;
    int64_t jobs = 1;
    int clean = 0, create = 0, analyze = 1;
    pgb_options_get_int(opts, "jobs", &jobs);
    pgb_options_get_bool(opts, "clean", &clean);
    pgb_options_get_bool(opts, "create", &create);
    pgb_options_get_bool(opts, "analyze", &analyze);
    r->jobs = jobs >= 1 && jobs <= 256 ? (int)jobs : 1;
    r->clean = clean == 1;
    r->create = create == 1;
    r->analyze = analyze != 0;
    const char *type = NULL, *database = NULL;
    pgb_options_get(opts, "type", &type);
    /* "type" defaults to physical for backups; here an unset type means a logical restore. */
    if (pgb_options_source(opts, "type") == PGB_SOURCE_DEFAULT)
        type = "logical";
    if (!type || !pgb_logical_job_is_type(type))
        return pgb_error_set(ctx, PGB_EINVALID, "a logical restore is of type logical or globals, not %s (physical "
                             "restores are planned with pgb_restore_plan_new)", type ? type : "(none)");
    pgb_options_get(opts, "db", &database);
    int rc = (r->type = pgb_text_dup(type)) ? PGB_OK : pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = copy_text(ctx, opts, "pg", &r->conninfo);
    if (rc == PGB_OK)
        rc = copy_text(ctx, opts, "pg-bindir", &r->bindir);
    if (rc == PGB_OK)
        rc = copy_text(ctx, opts, "target-db", &r->target_db);
    if (rc == PGB_OK && database && !(r->database = pgb_text_dup(database)))
        rc = pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = pgb_logical_copy_list(ctx, opts, "table", &r->tables, &r->table_count);
    if (rc == PGB_OK)
        rc = pgb_logical_copy_list(ctx, opts, "schema", &r->schemas, &r->schema_count);
    r->selective = r->table_count || r->schema_count;
    if (rc == PGB_OK && strcmp(r->type, "globals") == 0 && (r->selective || r->database || r->target_db))
        rc = pgb_error_set(ctx, PGB_EINVALID, "a globals restore replays roles and tablespaces: it takes no --db, "
                           "--target-db, --table or --schema");
    if (rc == PGB_OK && r->selective && r->create)
        rc = pgb_error_set(ctx, PGB_EINVALID, "a selective restore goes into an existing database: --create is for "
                           "whole restores");
    return rc;
}

/* The backup's database to restore: the one asked for, or the only one. */
static int choose_database(struct pgb_logical_restore *r)
{
    json_t *names = json_object_get(r->record, "databases");
    if (!r->database) {
        if (json_array_size(names) != 1) {
            char *list = json_dumps(names, JSON_COMPACT);
            int rc = pgb_error_set(r->ctx, PGB_EINVALID, "backup %s holds databases %s: name one with --db",
                                   r->backup_id, list ? list : "");
            free(list);
            return rc;
        }
        if (!(r->database = pgb_text_dup(json_string_value(json_array_get(names, 0)))))
            return pgb_error_nomem(r->ctx);
    }
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name) if (strcmp(json_string_value(name), r->database) == 0) return PGB_OK;
    char *list = json_dumps(names, JSON_COMPACT);
    int rc = pgb_error_set(r->ctx, PGB_ENOTFOUND, "backup %s holds no database %s (it holds %s)", r->backup_id,
                           r->database, list ? list : "");
    free(list);
    return rc;
}

static int find_file(struct pgb_logical_restore *r, const char *file, const struct pgb_file_entry **out)
{
    char *path = NULL;
    int rc = pgb_logical_database_path(r->ctx, r->database, file, &path);
    *out = rc == PGB_OK ? pgb_backup_file_find(&r->files, path) : NULL;
    if (rc == PGB_OK && !*out)
        rc = pgb_error_set(r->ctx, PGB_ECORRUPT, "backup %s lacks %s", r->backup_id, path);
    free(path);
    return rc;
}

static int read_json_file(struct pgb_logical_restore *r, const char *file, json_t **out)
{
    const struct pgb_file_entry *e = NULL;
    char *text = NULL;
    int rc = find_file(r, file, &e);
    if (rc == PGB_OK)
        rc = pgb_backup_file_read(r->repo, e, &text, NULL);
    json_error_t error;
    if (rc == PGB_OK && !(*out = json_loads(text, 0, &error)))
        rc = pgb_error_set(r->ctx, PGB_ECORRUPT, "%s of backup %s is damaged: %s", file, r->backup_id, error.text);
    free(text);
    return rc;
}

/* Without a backup id: the newest logical backup that holds the database asked for, if any does. */
static int newest_holding(struct pgb_logical_restore *r, char *id, size_t size)
{
    json_t *records = NULL;
    int rc = pgb_catalog_read_all(r->repo, &records);
    id[0] = '\0';
    for (size_t i = json_array_size(records); rc == PGB_OK && i > 0 && !id[0]; i--) {
        json_t *record = json_array_get(records, i - 1), *name;
        const char *type = json_string_value(json_object_get(record, "type"));
        size_t j;
        json_array_foreach(json_object_get(record, "databases"), j, name)
        {
            if (type && strcmp(type, "logical") == 0 && strcmp(json_string_value(name), r->database) == 0 && !id[0])
                snprintf(id, size, "%s", json_string_value(json_object_get(record, "id")));
        }
    }
    json_decref(records);
    return rc;
}

static int load_backup(struct pgb_logical_restore *r, const pgb_options *opts)
{
    const char *id = NULL;
    char holding[128] = "";
    pgb_options_get(opts, "backup", &id);
    int rc = !id && r->database ? newest_holding(r, holding, sizeof(holding)) : PGB_OK;
    if (rc == PGB_OK && holding[0])
        id = holding;
    if (rc == PGB_OK)
        rc = pgb_logical_find_record(r->repo, id, r->type, &r->record);
    const char *type = json_string_value(json_object_get(r->record, "type"));
    if (rc == PGB_OK) {
        snprintf(r->backup_id, sizeof(r->backup_id), "%s", json_string_value(json_object_get(r->record, "id")));
        if (!type || strcmp(type, r->type) != 0)
            rc = pgb_error_set(r->ctx, PGB_EINVALID, "backup %s is a %s backup, not a %s one", r->backup_id,
                               type ? type : "?", r->type);
    }
    if (rc == PGB_OK)
        rc = pgb_file_list_load(r->repo, r->backup_id, &r->files);
    if (rc == PGB_OK && strcmp(r->type, "globals") == 0) {
        if (!(r->globals = pgb_backup_file_find(&r->files, "globals.sql")))
            rc = pgb_error_set(r->ctx, PGB_ECORRUPT, "backup %s lacks globals.sql", r->backup_id);
        return rc;
    }
    json_t *toc = NULL;
    const struct pgb_file_entry *listing = NULL;
    if (rc == PGB_OK)
        rc = choose_database(r);
    if (rc == PGB_OK)
        rc = find_file(r, "toc", &listing);
    if (rc == PGB_OK)
        rc = pgb_backup_file_read(r->repo, listing, &r->listing, NULL);
    if (rc == PGB_OK)
        rc = read_json_file(r, "database.json", &r->props);
    if (rc == PGB_OK)
        rc = read_json_file(r, "toc.json", &toc);
    if (rc == PGB_OK)
        rc = pgb_archive_toc_from_json(r->ctx, toc, &r->toc);
    json_decref(toc);
    r->directory = r->toc.format == PGB_ARCHIVE_DIRECTORY_TOC;
    if (rc == PGB_OK && !r->directory && (rc = find_file(r, "dump", &r->dump)) == PGB_OK)
        r->dump_size = r->dump->size;
    char *folder = NULL;
    if (rc == PGB_OK && r->directory && (rc = pgb_logical_database_path(r->ctx, r->database, "dir/", &folder)) == PGB_OK)
        for (size_t i = 0; i < r->files.count; i++)
            if (strncmp(r->files.entries[i].path, folder, strlen(folder)) == 0)
                r->dump_size += r->files.entries[i].size;
    free(folder);
    return rc;
}

static int database_exists(struct pgb_logical_restore *r, const char *name, int *exists)
{
    PGresult *res = NULL;
    const char *values[] = {name};
    int rc = pgb_pg_query_params(r->ctx, r->admin, "SELECT 1 FROM pg_database WHERE datname = $1", 1, values, &res);
    *exists = rc == PGB_OK && PQntuples(res) == 1;
    PQclear(res);
    return rc;
}

/* What the target database holds, for a selective restore into it. */
static int plan_selection(struct pgb_logical_restore *r)
{
    struct pgb_target_objects target = {0};
    PGconn *conn = NULL;
    int rc = PGB_OK;
    if (r->target_exists) {
        rc = pgb_logical_connect(r->ctx, r->conninfo, r->target_db, &conn);
        if (rc == PGB_OK)
            rc = pgb_target_objects_read(r->ctx, conn, &target);
    }
    struct pgb_selection_request request = {r->tables, r->table_count, r->schemas, r->schema_count, r->clean};
    if (rc == PGB_OK)
        rc = pgb_selection_make(r->ctx, &r->toc, &request, &target, &r->selection);
    pgb_target_objects_clear(&target);
    PQfinish(conn);
    return rc;
}

static int plan_target(struct pgb_logical_restore *r)
{
    pgb_ctx *ctx = r->ctx;
    if (!r->target_db && !(r->target_db = pgb_text_dup(r->database)))
        return pgb_error_nomem(ctx);
    int rc = database_exists(r, r->target_db, &r->target_exists);
    if (rc != PGB_OK)
        return rc;
    if (r->create && r->target_exists && !r->clean)
        return pgb_error_set(ctx, PGB_EREFUSED, "database %s exists on the target server: restore with --clean to "
                             "drop and recreate it, or into another with --target-db NAME", r->target_db);
    if (r->create && r->target_exists && strcmp(PQdb(r->admin), r->target_db) == 0)
        return pgb_error_set(ctx, PGB_EREFUSED, "database %s cannot be dropped and recreated through a connection "
                             "to it: point --pg at another database (dbname=postgres)", r->target_db);
    if (!r->create && !r->target_exists)
        return pgb_error_set(ctx, PGB_ENOTFOUND, "database %s does not exist on the target server: restore with "
                             "--create to create it", r->target_db);
    return r->selective ? plan_selection(r) : PGB_OK;
}

static json_t *string_list(char **values, size_t count)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < count; i++)
        json_array_append_new(array, json_string(values[i]));
    return array;
}

int pgb_logical_restore_report(struct pgb_logical_restore *r)
{
    json_t *doc = r->report;
    if (!doc && !(doc = r->report = json_object()))
        return pgb_error_nomem(r->ctx);
    json_object_set_new(doc, "format_version", json_integer(1));
    json_object_set_new(doc, "type", json_string(r->type));
    json_object_set_new(doc, "backup", json_string(r->backup_id));
    if (strcmp(r->type, "logical") == 0) {
        size_t entries = r->selective ? r->selection.count : r->toc.count;
        json_object_set_new(doc, "database", json_string(r->database));
        json_object_set_new(doc, "target_db", json_string(r->target_db));
        json_object_set_new(doc, "create", json_boolean(r->create));
        json_object_set_new(doc, "clean", json_boolean(r->clean));
        json_object_set_new(doc, "jobs", json_integer(r->jobs));
        json_object_set_new(doc, "analyze", json_boolean(r->analyze));
        json_object_set_new(doc, "mode", json_string(r->selective ? "selective" : "whole"));
        const char *input = r->directory ? (r->selective ? "partial-directory" : "directory")
                            : r->selective ? "partial-file"
                            : r->jobs > 1  ? "file"
                                           : "stream";
        json_object_set_new(doc, "format", json_string(r->directory ? "directory" : "custom"));
        json_object_set_new(doc, "input", json_string(input));
        json_object_set_new(doc, "dump_size", json_integer((json_int_t)r->dump_size));
        json_object_set_new(doc, "entries", json_integer((json_int_t)entries));
        json_object_set_new(doc, "entries_total", json_integer((json_int_t)r->toc.count));
        json_object_set_new(doc, "tables", string_list(r->tables, r->table_count));
        json_object_set_new(doc, "schemas", string_list(r->schemas, r->schema_count));
        json_object_set_new(doc, "objects", r->selective ? json_incref(r->selection.objects) : json_array());
        json_object_set_new(doc, "skipped", r->selective ? json_incref(r->selection.skipped) : json_array());
    }
    free(r->json);
    r->json = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    return r->json ? PGB_OK : pgb_error_nomem(r->ctx);
}

/* Remake the JSON after a failure without losing the failure's message. */
static void refresh_json(struct pgb_logical_restore *r)
{
    char *json = json_dumps(r->report, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (json) {
        free(r->json);
        r->json = json;
    }
}

int pgb_logical_restore_new(pgb_logical_restore **out, pgb_repo *repo, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_logical_restore_new: out is NULL");
    *out = NULL;
    if (!opts)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_logical_restore_new: options are needed (type, backup, db, pg)");
    if (!pgb_repo_can_read(repo))
        return pgb_error_set(ctx, PGB_EAUTH, "restoring needs --identity or --passphrase-file: this repository "
                             "handle holds only the writer key");
    struct pgb_logical_restore *r = calloc(1, sizeof(*r));
    if (!r)
        return pgb_error_nomem(ctx);
    r->magic = PGB_MAGIC_LOGICAL_RESTORE;
    r->ctx = ctx;
    r->repo = repo;
    int rc = read_options(r, opts);
    if (rc == PGB_OK)
        rc = load_backup(r, opts);
    if (rc == PGB_OK)
        rc = pgb_logical_connect(ctx, r->conninfo, NULL, &r->admin);
    if (rc == PGB_OK && strcmp(r->type, "logical") == 0) {
        static const char *const programs[] = {"pg_restore", NULL};
        char *ignored = NULL;
        rc = pgb_pg_programs_find(ctx, r->bindir, PQserverVersion(r->admin), programs, &r->programs);
        if (rc == PGB_OK)
            rc = pgb_conninfo_for_program(ctx, r->conninfo, NULL, &ignored, &r->password);
        if (rc == PGB_OK)
            rc = pgb_program_env_make(ctx, r->password, &r->env);
        free(ignored);
        if (rc == PGB_OK)
            rc = plan_target(r);
    }
    if (rc == PGB_OK)
        rc = pgb_logical_restore_report(r);
    if (rc != PGB_OK) {
        pgb_logical_restore_free(r);
        return rc;
    }
    r->state = RESTORE_PLANNED;
    *out = r;
    return PGB_OK;
}

const char *pgb_logical_restore_backup_id(const pgb_logical_restore *r)
{
    return is_restore(r) ? r->backup_id : NULL;
}

const char *pgb_logical_restore_to_json(const pgb_logical_restore *r)
{
    return is_restore(r) ? r->json : NULL;
}

int pgb_logical_restore_execute(pgb_logical_restore *r)
{
    if (!is_restore(r))
        return PGB_EINVALID;
    pgb_error_clear(r->ctx);
    if (r->state != RESTORE_PLANNED)
        return pgb_error_set(r->ctx, PGB_EINVALID, "pgb_logical_restore_execute called on a %s restore: a plan runs "
                             "once", r->state == RESTORE_RUNNING ? "running" : "finished");
    r->state = RESTORE_RUNNING;
    int rc = strcmp(r->type, "globals") == 0 ? pgb_globals_restore_run(r) : pgb_logical_restore_run(r);
    /* The report says what happened, failures included. */
    if (rc == PGB_OK)
        rc = pgb_logical_restore_report(r);
    else if (r->report)
        refresh_json(r);
    r->state = rc == PGB_OK ? RESTORE_DONE : RESTORE_FAILED;
    return rc;
}

void pgb_logical_restore_free(pgb_logical_restore *r)
{
    if (!r || r->magic != PGB_MAGIC_LOGICAL_RESTORE)
        return;
    free(r->type);
    free(r->conninfo);
    free(r->bindir);
    free(r->database);
    free(r->target_db);
    pgb_logical_list_free(r->tables);
    pgb_logical_list_free(r->schemas);
    json_decref(r->record);
    pgb_file_list_clear(&r->files);
    free(r->listing);
    pgb_archive_toc_clear(&r->toc);
    json_decref(r->props);
    PQfinish(r->admin);
    pgb_program_env_clear(&r->env);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    pgb_selection_clear(&r->selection);
    json_decref(r->report);
    free(r->json);
    r->magic = PGB_MAGIC_FREED;
    free(r);
}
