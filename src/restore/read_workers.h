/*
 * Handles for threads that read a backup's content in parallel (restore,
 * verify). A pgb_ctx is single-threaded, so each worker has its own context,
 * its own handle on the repository's storage (opened again by its URL) and a
 * view of the repository made for it; it reads the caller's context only for
 * its cancel flag, which is atomic. A storage made of callbacks serves one
 * handle, so it is read by the calling thread alone.
 */
#ifndef PGB_RESTORE_READ_WORKERS_H
#define PGB_RESTORE_READ_WORKERS_H

#include <pgbackup/options.h>

#include "repo/repo.h"

struct pgb_read_worker {
    pgb_ctx *ctx;
    pgb_storage *storage;
    struct pgb_repo *repo; /* a view of the caller's repository, through storage */
};

/* The "jobs" option (1 to 256; 1 when opts is NULL or does not set it). */
int pgb_read_jobs(const pgb_options *opts);

/*
 * How many threads read repo for what ("restore", "verify"): jobs, or 1 for a
 * storage made of callbacks (said in the log of repo's context).
 */
int pgb_read_worker_count(struct pgb_repo *repo, int jobs, const char *what);

/*
 * Open count workers' handles on repo. Errors go to repo's context. Free
 * them with pgb_read_workers_free, also after a failure.
 */
int pgb_read_workers_open(struct pgb_read_worker **out, struct pgb_repo *repo, int count);

/* Close the workers' handles and free the array. NULL is fine. */
void pgb_read_workers_free(struct pgb_read_worker *workers, int count);

#endif
