#include "restore/read_workers.h"

#include <stdlib.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "storage/storage.h"

int pgb_read_jobs(const pgb_options *opts)
{
    int64_t jobs = 1;
    if (!opts || pgb_options_get_int(opts, "jobs", &jobs) != PGB_OK)
        return 1;
    return jobs < 1 ? 1 : jobs > 256 ? 256 : (int)jobs;
}

int pgb_read_worker_count(struct pgb_repo *repo, int jobs, const char *what)
{
    if (jobs > 1 && !pgb_storage_reopenable(repo->storage)) {
        pgb_log(repo->ctx, PGB_LOG_INFO, "storage %s is made of callbacks, which serve one handle: %s with one "
                "worker instead of %d", pgb_storage_name(repo->storage), what, jobs);
        return 1;
    }
    return jobs > 1 ? jobs : 1;
}

int pgb_read_workers_open(struct pgb_read_worker **out, struct pgb_repo *repo, int count)
{
    *out = calloc((size_t)count, sizeof(**out));
    if (!*out)
        return pgb_error_nomem(repo->ctx);
    int rc = PGB_OK;
    for (int i = 0; rc == PGB_OK && i < count; i++) {
        struct pgb_repo_worker handles;
        rc = pgb_repo_worker_open(&handles, repo);
        (*out)[i] = (struct pgb_read_worker){handles.ctx, handles.storage, handles.repo};
    }
    return rc;
}

void pgb_read_workers_free(struct pgb_read_worker *workers, int count)
{
    for (int i = 0; workers && i < count; i++)
        pgb_repo_worker_close(&(struct pgb_repo_worker){workers[i].ctx, workers[i].storage, workers[i].repo});
    free(workers);
}
