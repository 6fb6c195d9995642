/*
 * Replaying a globals backup: every statement of pg_dumpall --globals-only,
 * one by one. pg_dumpall writes CREATE ROLE then ALTER ROLE for each role, so
 * that a role that exists already gets its attributes (and password hash)
 * from the ALTER: its CREATE failing with duplicate_object is expected, not
 * an error; likewise a tablespace that exists. Any other failure is reported,
 * and the remaining statements still run, as psql would run the script.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "logical/backup_files.h"
#include "logical/logical_restore.h"
#include "logical/sql_script.h"

/* ERRCODE_DUPLICATE_OBJECT */
static const char duplicate_object[] = "42710";

/* The name a CREATE ROLE or CREATE TABLESPACE statement makes (after comments), for the report. */
static const char *created_kind(const char *statement, const char **name)
{
    const char *p = statement;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (strncmp(p, "--", 2) != 0)
            break;
        p += strcspn(p, "\n");
    }
    static const char *const kinds[] = {"CREATE ROLE ", "CREATE TABLESPACE ", NULL};
    for (size_t i = 0; kinds[i]; i++)
        if (strncmp(p, kinds[i], strlen(kinds[i])) == 0) {
            *name = p + strlen(kinds[i]);
            return i == 0 ? "role" : "tablespace";
        }
    return NULL;
}

static json_t *first_word(const char *text)
{
    size_t length = strcspn(text, " ;\n");
    char *word = pgb_text_printf("%.*s", (int)length, text);
    json_t *value = json_string(word ? word : "");
    free(word);
    return value;
}

int pgb_globals_restore_run(struct pgb_logical_restore *r)
{
    pgb_ctx *ctx = r->ctx;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char *script = NULL, **statements = NULL;
    size_t size = 0, count = 0, failed = 0;
    json_t *roles = json_array(), *tablespaces = json_array(), *errors = json_array();
    struct pgb_progress progress;
    pgb_progress_begin(&progress, "restore");
    int rc = pgb_progress_report(ctx, &progress);
    if (rc == PGB_OK)
        rc = pgb_backup_file_read(r->repo, r->globals, &script, &size);
    if (rc == PGB_OK)
        rc = pgb_sql_split(ctx, script, size, &statements, &count);
    progress.files_total = count;
    for (size_t i = 0; rc == PGB_OK && i < count; i++) {
        PGresult *res = PQexec(r->admin, statements[i]);
        ExecStatusType status = PQresultStatus(res);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char *name = NULL, *kind = created_kind(statements[i], &name);
            if (PQstatus(r->admin) != CONNECTION_OK) {
                rc = pgb_error_set(ctx, PGB_ECONNECTION, "the connection broke while replaying globals: %s",
                                   PQerrorMessage(r->admin));
            } else if (kind && state && strcmp(state, duplicate_object) == 0) {
                json_array_append_new(strcmp(kind, "role") == 0 ? roles : tablespaces, first_word(name));
            } else {
                char *message = pgb_text_dup(PQresultErrorMessage(res));
                json_array_append_new(errors, json_pack("{s:s, s:s}", "statement", statements[i], "error",
                                                        message ? pgb_text_trim(message) : "failed"));
                free(message);
                failed++;
            }
        }
        PQclear(res);
        progress.files_done++;
        if (rc == PGB_OK)
            rc = pgb_check_canceled(ctx);
    }
    if (rc == PGB_OK && failed) {
        json_t *first = json_array_get(errors, 0);
        rc = pgb_error_set(ctx, PGB_ERROR, "%zu of %zu statements of the globals of backup %s failed (the others "
                           "ran); the first: %s: %s", failed, count, r->backup_id,
                           json_string_value(json_object_get(first, "statement")),
                           json_string_value(json_object_get(first, "error")));
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    json_object_set_new(r->report, "statements", json_integer((json_int_t)count));
    json_object_set_new(r->report, "roles_existing", roles);
    json_object_set_new(r->report, "tablespaces_existing", tablespaces);
    json_object_set_new(r->report, "errors", errors);
    json_object_set_new(r->report, "seconds", json_real((double)(end.tv_sec - start.tv_sec) +
                                                        (double)(end.tv_nsec - start.tv_nsec) / 1e9));
    if (rc == PGB_OK)
        pgb_log(ctx, PGB_LOG_INFO, "replayed %zu statements of the globals of backup %s (%zu roles existed)", count,
                r->backup_id, json_array_size(roles));
    pgb_sql_statements_free(statements);
    free(script);
    return rc;
}
