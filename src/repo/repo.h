/*
 * The open repository (pgb_repo) as the layers above it see it.
 */
#ifndef PGB_REPO_REPO_H
#define PGB_REPO_REPO_H

#include <stdint.h>

#include <pgbackup/repo.h>

#include "pipeline/keyset.h"
#include "pipeline/object.h"
#include "repo/layout.h"

struct pgb_repo {
    uint32_t magic;
    pgb_ctx *ctx;
    pgb_storage *storage; /* not owned */
    char id[33];
    char encryption[32];  /* "none", "passphrase", "recipients", "passphrase+recipients" */
    struct pgb_keyset keys;
    char *cluster;
    char cluster_dir[PGB_CLUSTER_DIR_SIZE];
    int holds_lock;
    char lock_token[33];
};

/* Whether repo is a live pgb_repo. */
int pgb_repo_is_valid(const struct pgb_repo *repo);

/* How records and other small objects the writer reads back are written. */
void pgb_repo_record_spec(const struct pgb_repo *repo, int flags, struct pgb_object_spec *spec);

/* "<cluster dir>/<suffix>" into out (PGB_KEY_SIZE). */
void pgb_repo_cluster_key(const struct pgb_repo *repo, const char *suffix, char out[PGB_KEY_SIZE]);

/*
 * A second handle on an open repository for a worker thread: the same keys,
 * cluster and folders, but errors go to ctx and objects are written through
 * storage (a handle on the same objects, made for that thread). It never
 * holds the writer lock: the repository it copies does. Free it with
 * pgb_repo_close() before ctx and storage. Returns 0 or PGB_ENOMEM (recorded
 * in ctx).
 */
int pgb_repo_worker_view(struct pgb_repo **out, const struct pgb_repo *repo, pgb_ctx *ctx, pgb_storage *storage);

/* What a worker thread needs to use the repository: its own context, storage handle and view. */
struct pgb_repo_worker {
    pgb_ctx *ctx;
    pgb_storage *storage;
    struct pgb_repo *repo;
};

/*
 * Open a worker's handles on repo, whose storage is reopened by its URL
 * (check pgb_storage_reopenable first). Errors go to repo's context; close
 * with pgb_repo_worker_close, also after a failure.
 */
int pgb_repo_worker_open(struct pgb_repo_worker *w, const struct pgb_repo *repo);
void pgb_repo_worker_close(struct pgb_repo_worker *w);

/* Release the lock if held (close calls it). */
int pgb_repo_lock_release(struct pgb_repo *repo);

#endif
