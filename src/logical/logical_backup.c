/*
 * Logical backup: pg_dump -Fc of each database streamed through the pipeline
 * (or, with format directory, pg_dump -Fd -j N through a spool folder:
 * directory_dump.c).
 *
 * pg_dump compresses its own archive with gzip level 1 (its default level
 * when the repository stores uncompressed): as fast as no compression at all
 * on this path, far fewer bytes through the pipeline, and a small private copy
 * when pg_restore -j needs one; a level 6 archive costs pg_dump more time for
 * little less. The pipeline's codec then finds little to do (zstd passes
 * incompressible blocks through quickly). The archive scanner reads the TOC and measures every
 * data block on the way, and pg_restore -l -v lists the TOC from its bytes
 * alone: nothing of the dump is kept on local disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "logical/database_props.h"
#include "logical/directory_dump.h"
#include "logical/logical_job.h"
#include "logical/logical_session.h"
#include "pg/connection.h"
#include "pipeline/compress.h"

/* The named databases, each checked to exist and accept connections; or every such database but templates. */
static int list_databases(struct logical_session *s, char ***names, size_t *count)
{
    pgb_ctx *ctx = s->job->ctx;
    struct pgb_logical_job *l = s->job->logical;
    *names = NULL;
    *count = 0;
    PGresult *res = NULL;
    int rc = pgb_pg_query(ctx, s->sql, "SELECT datname, datallowconn, datistemplate FROM pg_database ORDER BY datname",
                          &res);
    if (rc != PGB_OK)
        return rc;
    char **out = calloc((size_t)PQntuples(res) + l->database_count + 1, sizeof(*out));
    if (!out)
        rc = pgb_error_nomem(ctx);
    size_t n = 0;
    for (size_t i = 0; rc == PGB_OK && i < l->database_count; i++) {
        int found = -1;
        for (int row = 0; row < PQntuples(res) && found < 0; row++)
            if (strcmp(PQgetvalue(res, row, 0), l->databases[i]) == 0)
                found = row;
        if (found < 0)
            rc = pgb_error_set(ctx, PGB_ENOTFOUND, "database %s does not exist on the server", l->databases[i]);
        else if (strcmp(PQgetvalue(res, found, 1), "t") != 0)
            rc = pgb_error_set(ctx, PGB_EINVALID, "database %s does not allow connections: it cannot be dumped",
                               l->databases[i]);
        else if (!(out[n++] = pgb_text_dup(l->databases[i])))
            rc = pgb_error_nomem(ctx);
    }
    for (int row = 0; rc == PGB_OK && !l->database_count && row < PQntuples(res); row++) {
        if (strcmp(PQgetvalue(res, row, 1), "t") != 0 || strcmp(PQgetvalue(res, row, 2), "t") == 0)
            continue;
        if (!(out[n++] = pgb_text_dup(PQgetvalue(res, row, 0))))
            rc = pgb_error_nomem(ctx);
    }
    PQclear(res);
    if (rc == PGB_OK && n == 0)
        rc = pgb_error_set(ctx, PGB_ENOTFOUND, "the server has no database to dump (every one is a template or "
                           "refuses connections)");
    if (rc != PGB_OK) {
        pgb_logical_list_free(out);
        return rc;
    }
    *names = out;
    *count = n;
    return PGB_OK;
}

static int store_json(struct logical_session *s, const char *name, const char *file, json_t *doc)
{
    char *path = NULL, *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = text ? pgb_logical_database_path(s->job->ctx, name, file, &path) : pgb_error_nomem(s->job->ctx);
    if (rc == PGB_OK)
        rc = pgb_logical_session_store(s, path, text, strlen(text));
    free(path);
    free(text);
    return rc;
}

/* pg_restore -l -v of a custom archive's header and TOC bytes alone: the lines -L lists are made of. */
static int list_prefix(struct logical_session *s, const char *name, pgb_archive_scanner *scanner, char **listing,
                       size_t *listing_size)
{
    size_t size = 0;
    const uint8_t *prefix = pgb_archive_scanner_prefix(scanner, &size);
    char program[PATH_MAX];
    pgb_pg_program_path(&s->programs, "pg_restore", program);
    const char *argv[] = {program, "--list", "--verbose", NULL};
    int rc = pgb_child_run(s->job->ctx, argv, NULL, prefix, size, listing, listing_size);
    if (rc != PGB_OK)
        pgb_error_prefix(s->job->ctx, "cannot list the table of contents of the dump of database %s", name);
    return rc;
}

/* pg_dump -Fc streamed from its stdout into databases/<name>/dump; toc gets the TOC with block offsets. */
static int dump_custom(struct logical_session *s, const char *name, const char *conninfo,
                       struct pgb_archive_toc *toc, char **listing, size_t *listing_size, uint64_t *size)
{
    struct pgb_job *job = s->job;
    pgb_ctx *ctx = job->ctx;
    char *dbname_arg = pgb_text_printf("--dbname=%s", conninfo), *what = pgb_text_printf("pg_dump of database %s",
                                                                                           name);
    char *path = NULL;
    pgb_child *child = NULL;
    pgb_archive_scanner *scanner = NULL;
    int rc = dbname_arg && what ? pgb_logical_database_path(ctx, name, "dump", &path) : pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = pgb_archive_scanner_new(ctx, &scanner);
    if (rc == PGB_OK) {
        char program[PATH_MAX];
        pgb_pg_program_path(&s->programs, "pg_dump", program);
        /* The password is in the child's environment (PGPASSWORD), never in argv. */
        const char *argv[] = {program, "--format=custom", dbname_arg,
                              job->codec != PGB_CODEC_NONE ? "--compress=1" : NULL, NULL};
        rc = pgb_child_start(ctx, argv, (const char *const *)s->env.entries, PGB_CHILD_STDOUT, &child);
    }
    if (rc == PGB_OK)
        rc = pgb_logical_session_store_output(s, path, what, child, scanner, size);
    if (rc == PGB_OK)
        rc = list_prefix(s, name, scanner, listing, listing_size);
    if (rc == PGB_OK) {
        /* Take the TOC over from the scanner. */
        struct pgb_archive_toc *kept = (struct pgb_archive_toc *)pgb_archive_scanner_toc(scanner);
        *toc = *kept;
        memset(kept, 0, sizeof(*kept));
    }
    pgb_child_free(child);
    pgb_archive_scanner_free(scanner);
    free(dbname_arg);
    free(what);
    free(path);
    return rc;
}

static size_t count_tables(const struct pgb_archive_toc *toc)
{
    size_t tables = 0;
    for (size_t i = 0; i < toc->count; i++)
        tables += strcmp(toc->entries[i].desc, "TABLE") == 0;
    return tables;
}

static int dump_database(struct logical_session *s, const char *name, json_t *details, uint64_t *total)
{
    struct pgb_job *job = s->job;
    pgb_ctx *ctx = job->ctx;
    json_t *props = NULL, *toc_doc = NULL;
    char *conninfo = NULL, *listing = NULL, *path = NULL;
    size_t listing_size = 0;
    struct pgb_archive_toc toc = {0};
    uint64_t size = 0;
    int directory = strcmp(job->logical->format, "directory") == 0;
    pgb_log(ctx, PGB_LOG_INFO, "dumping database %s", name);
    int rc = pgb_database_props_read(ctx, s->sql, name, &props);
    if (rc == PGB_OK)
        rc = store_json(s, name, "database.json", props);
    if (rc == PGB_OK)
        rc = pgb_logical_session_conninfo(s, name, &conninfo);
    if (rc == PGB_OK)
        rc = directory ? pgb_directory_dump(s, name, conninfo, &toc, &listing, &listing_size, &size)
                       : dump_custom(s, name, conninfo, &toc, &listing, &listing_size, &size);
    if (rc == PGB_OK)
        rc = pgb_logical_database_path(ctx, name, "toc", &path);
    if (rc == PGB_OK)
        rc = pgb_logical_session_store(s, path, listing, listing_size);
    if (rc == PGB_OK && !(toc_doc = pgb_archive_toc_to_json(&toc)))
        rc = pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = store_json(s, name, "toc.json", toc_doc);
    if (rc == PGB_OK) {
        char version[32], *folder = NULL;
        snprintf(version, sizeof(version), "%d.%d.%d", toc.version[0], toc.version[1], toc.version[2]);
        rc = pgb_logical_database_path(ctx, name, "", &folder);
        if (rc == PGB_OK) {
            folder[strlen(folder) - 1] = '\0';
            json_t *detail = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s?}", "name", name, "path", folder,
                                       "dump_size", (json_int_t)size, "toc_entries", (json_int_t)toc.count, "tables",
                                       (json_int_t)count_tables(&toc), "archive_version", version, "owner",
                                       json_string_value(json_object_get(props, "owner")));
            if (!detail || json_array_append_new(details, detail) != 0)
                rc = pgb_error_nomem(ctx);
        }
        free(folder);
        *total += size;
        s->progress.files_done++;
    }
    pgb_archive_toc_clear(&toc);
    json_decref(props);
    json_decref(toc_doc);
    free(conninfo);
    free(listing);
    free(path);
    return rc;
}

int pgb_logical_backup_run(struct pgb_job *job)
{
    static const char *const programs[] = {"pg_dump", "pg_restore", NULL};
    struct logical_session s;
    char **names = NULL;
    size_t count = 0;
    uint64_t total = 0;
    json_t *details = json_array(), *listed = json_array();
    int rc = pgb_logical_session_open(&s, job, programs);
    if (rc == PGB_OK)
        rc = list_databases(&s, &names, &count);
    if (rc == PGB_OK) {
        s.progress.phase = "dump";
        s.progress.files_total = count;
        rc = pgb_progress_report(job->ctx, &s.progress);
    }
    for (size_t i = 0; rc == PGB_OK && i < count; i++) {
        rc = dump_database(&s, names[i], details, &total);
        if (rc == PGB_OK)
            json_array_append_new(listed, json_string(names[i]));
    }
    if (rc == PGB_OK) {
        json_t *record = json_pack("{s:s, s:O, s:O, s:I}", "format", job->logical->format, "databases", listed,
                                   "database_details", details, "database_size", (json_int_t)total);
        rc = pgb_logical_session_commit(&s, record);
    }
    pgb_logical_session_close(&s);
    pgb_logical_list_free(names);
    json_decref(details);
    json_decref(listed);
    return rc;
}
