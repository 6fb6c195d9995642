#include "logical/logical_job.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "backup/job.h"
#include "core/error.h"
#include "core/text.h"

int pgb_logical_job_is_type(const char *type)
{
    return type && (strcmp(type, "logical") == 0 || strcmp(type, "globals") == 0);
}

void pgb_logical_list_free(char **values)
{
    for (size_t i = 0; values && values[i]; i++)
        free(values[i]);
    free(values);
}

int pgb_logical_copy_list(pgb_ctx *ctx, const pgb_options *opts, const char *key, char ***values, size_t *count)
{
    *values = NULL;
    *count = 0;
    const char *value = NULL;
    size_t n = 0;
    while (opts && pgb_options_get_at(opts, key, n, &value) == PGB_OK && value)
        n++;
    char **copy = calloc(n + 1, sizeof(*copy));
    if (!copy)
        return pgb_error_nomem(ctx);
    for (size_t i = 0; i < n; i++) {
        pgb_options_get_at(opts, key, i, &value);
        if (!(copy[i] = pgb_text_dup(value))) {
            pgb_logical_list_free(copy);
            return pgb_error_nomem(ctx);
        }
    }
    *values = copy;
    *count = n;
    return PGB_OK;
}

int pgb_logical_job_read_options(struct pgb_job *job, const pgb_options *opts)
{
    struct pgb_logical_job *l = calloc(1, sizeof(*l));
    if (!l)
        return pgb_error_nomem(job->ctx);
    job->logical = l;
    const char *format = NULL, *bindir = NULL;
    if (opts) {
        pgb_options_get(opts, "format", &format);
        pgb_options_get(opts, "pg-bindir", &bindir);
    }
    int rc = pgb_logical_copy_list(job->ctx, opts, "db", &l->databases, &l->database_count);
    if (rc == PGB_OK && ((bindir && !(l->bindir = pgb_text_dup(bindir))) ||
                         !(l->format = pgb_text_dup(format ? format : "custom"))))
        rc = pgb_error_nomem(job->ctx);
    if (rc == PGB_OK && strcmp(l->format, "custom") != 0 && strcmp(l->format, "directory") != 0)
        rc = pgb_error_set(job->ctx, PGB_EINVALID, "a logical backup's format is custom or directory, not %s",
                           l->format);
    if (rc == PGB_OK && strcmp(job->type, "globals") == 0 && l->database_count)
        rc = pgb_error_set(job->ctx, PGB_EINVALID, "a globals backup is of the whole cluster: it takes no --db");
    return rc;
}

int pgb_logical_job_run(struct pgb_job *job)
{
    return strcmp(job->type, "globals") == 0 ? pgb_globals_backup_run(job) : pgb_logical_backup_run(job);
}

void pgb_logical_job_free(struct pgb_logical_job *l)
{
    if (!l)
        return;
    pgb_logical_list_free(l->databases);
    free(l->format);
    free(l->bindir);
    free(l);
}
