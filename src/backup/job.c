/*
 * Public entry points of backup jobs: options, lifetime, the writer lock, and
 * dispatch to the kind of backup.
 */
#include "backup/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>

#include "core/context.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/text.h"
#include "logical/logical_job.h"
#include "pipeline/compress.h"

enum job_state { JOB_NEW, JOB_RUNNING, JOB_DONE, JOB_FAILED };

static int is_job(const pgb_job *job)
{
    return job && job->magic == PGB_MAGIC_JOB && pgb_ctx_is_valid(job->ctx);
}

void pgb_job_make_backup_id(struct pgb_job *job, const char *suffix)
{
    pgb_time_id(suffix, job->backup_id);
}

static int copy_option(const pgb_options *opts, const char *key, char **out)
{
    const char *value = NULL;
    if (opts)
        pgb_options_get(opts, key, &value);
    else
        value = pgb_option_default((size_t)pgb_option_find(key));
    *out = value ? pgb_text_dup(value) : NULL;
    return !value || *out ? PGB_OK : PGB_ENOMEM;
}

static int read_options(struct pgb_job *job, const pgb_options *opts)
{
    const char *compress = "zstd:3", *checkpoint = "spread";
    int incremental = 0, allow_bad_pages = 0;
    int64_t jobs = 1;
    if (opts) {
        pgb_options_get(opts, "compress", &compress);
        pgb_options_get(opts, "checkpoint", &checkpoint);
        pgb_options_get_bool(opts, "incremental", &incremental);
        pgb_options_get_bool(opts, "allow-bad-pages", &allow_bad_pages);
        pgb_options_get_int(opts, "jobs", &jobs);
    }
    job->incremental = incremental == 1;
    job->allow_bad_pages = allow_bad_pages == 1;
    job->jobs = jobs >= 1 && jobs <= 256 ? (int)jobs : 1;
    job->fast_checkpoint = strcmp(checkpoint, "fast") == 0;
    int rc = pgb_codec_parse(job->ctx, compress, &job->codec, &job->level);
    if (rc == PGB_OK && (copy_option(opts, "type", &job->type) || copy_option(opts, "mode", &job->mode) ||
                         copy_option(opts, "pg", &job->conninfo) || copy_option(opts, "label", &job->label) ||
                         copy_option(opts, "pgdata", &job->pgdata)))
        rc = pgb_error_nomem(job->ctx);
    if (rc == PGB_OK && pgb_logical_job_is_type(job->type))
        return pgb_logical_job_read_options(job, opts);
    if (rc == PGB_OK && strcmp(job->type, "physical") != 0)
        rc = pgb_error_set(job->ctx, PGB_EUNSUPPORTED, "backups of type %s are not available in this version "
                           "(physical are)", job->type);
    if (rc == PGB_OK && strcmp(job->mode, "stream") != 0 && strcmp(job->mode, "local") != 0)
        rc = pgb_error_set(job->ctx, PGB_EUNSUPPORTED, "physical backups in %s mode are not available in this "
                           "version (stream and local modes are)", job->mode);
    if (rc == PGB_OK && strcmp(job->mode, "local") == 0 && (!job->pgdata || !job->pgdata[0]))
        rc = pgb_error_set(job->ctx, PGB_EINVALID, "a local physical backup copies the data directory: set option "
                           "pgdata (--pgdata DIR) to the cluster's data directory");
    return rc;
}

int pgb_job_new(pgb_job **out, pgb_repo *repo, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (!out)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "pgb_job_new: out is NULL");
    *out = NULL;
    struct pgb_job *job = calloc(1, sizeof(*job));
    if (!job)
        return pgb_error_nomem(repo->ctx);
    job->magic = PGB_MAGIC_JOB;
    job->ctx = repo->ctx;
    job->repo = repo;
    int rc = read_options(job, opts);
    if (rc != PGB_OK) {
        pgb_job_free(job);
        return rc;
    }
    *out = job;
    return PGB_OK;
}

int pgb_job_run(pgb_job *job)
{
    if (!is_job(job))
        return PGB_EINVALID;
    pgb_error_clear(job->ctx);
    if (job->state != JOB_NEW)
        return pgb_error_set(job->ctx, PGB_EINVALID, "pgb_job_run called on a %s job: a job runs once",
                             job->state == JOB_RUNNING ? "running" : "finished");
    job->state = JOB_RUNNING;
    /* A caller that took the writer lock itself keeps it after the job. */
    int held_before = job->repo->holds_lock;
    int rc = pgb_repo_lock(job->repo);
    if (rc == PGB_OK) {
        rc = pgb_logical_job_is_type(job->type)    ? pgb_logical_job_run(job)
             : strcmp(job->mode, "local") == 0 ? pgb_physical_local_run(job)
                                               : pgb_physical_stream_run(job);
        /* Keep the job's error: releasing the lock is housekeeping. */
        char *message = rc != PGB_OK ? pgb_text_dup(pgb_ctx_errmsg(job->ctx)) : NULL;
        char *detail = rc != PGB_OK ? pgb_text_dup(pgb_ctx_errdetail(job->ctx)) : NULL;
        if (!held_before)
            pgb_repo_lock_release(job->repo);
        if (rc != PGB_OK) {
            pgb_error_set(job->ctx, rc, "%s", message ? message : "backup failed");
            if (detail && *detail)
                pgb_error_set_detail(job->ctx, "%s", detail);
        }
        free(message);
        free(detail);
    }
    job->state = rc == PGB_OK ? JOB_DONE : JOB_FAILED;
    /* A cancel was for this run: it must not stop the context's next call. */
    pgb_ctx_reset_cancel(job->ctx);
    return rc;
}

int pgb_job_cancel(pgb_job *job)
{
    /* The context's flag is atomic; everything the job runs checks it. */
    return job && job->magic == PGB_MAGIC_JOB ? pgb_ctx_cancel(job->ctx) : PGB_EINVALID;
}

const char *pgb_job_backup_id(const pgb_job *job)
{
    return is_job(job) && job->backup_id[0] ? job->backup_id : NULL;
}

const char *pgb_job_to_json(const pgb_job *job)
{
    return is_job(job) ? job->record_json : NULL;
}

void pgb_job_free(pgb_job *job)
{
    if (!job || job->magic != PGB_MAGIC_JOB)
        return;
    free(job->type);
    free(job->mode);
    free(job->conninfo);
    free(job->label);
    free(job->pgdata);
    pgb_logical_job_free(job->logical);
    json_decref(job->record);
    free(job->record_json);
    job->magic = PGB_MAGIC_FREED;
    free(job);
}
