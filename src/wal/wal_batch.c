#include "wal/wal_batch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>
#include <pgbackup/progress.h>

#include "core/error.h"
#include "core/log.h"
#include "core/worker_pool.h"
#include "storage/storage.h"

struct worker {
    struct pgb_wal_batch *batch;
    struct pgb_repo_worker handles;
};

struct pgb_wal_batch {
    const pgb_ctx *caller; /* read only for its cancel flag, which is atomic */
    pgb_ctx *pool_ctx;     /* the pool's own: its reports never reach the caller's */
    pgb_worker_pool *pool;
    struct worker *workers;
    int worker_count;
    struct pgb_wal_batch_item *items;
    size_t count;
    atomic_size_t next;
    atomic_size_t limit; /* items from here on do not start */
    int stop_at_not_found;
    pgb_wal_batch_fn fn;
    void *payload;
};

static void lower_limit(struct pgb_wal_batch *b, size_t to)
{
    size_t current = atomic_load(&b->limit);
    while (to < current && !atomic_compare_exchange_weak(&b->limit, &current, to))
        ;
}

static int run_worker(void *arg, char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    struct worker *w = arg;
    struct pgb_wal_batch *b = w->batch;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->count || i >= atomic_load(&b->limit) || pgb_ctx_is_canceled(b->caller))
            break;
        struct pgb_wal_batch_item *item = &b->items[i];
        pgb_error_clear(w->handles.ctx);
        item->rc = b->fn(w->handles.repo, item->name, b->payload);
        if (item->rc != PGB_OK)
            snprintf(item->why, sizeof(item->why), "%s", pgb_ctx_errmsg(w->handles.ctx));
        if (item->rc == PGB_ENOTFOUND && b->stop_at_not_found)
            lower_limit(b, i + 1);
    }
    return PGB_OK;
}

void pgb_wal_batch_finish(struct pgb_wal_batch *b)
{
    if (!b)
        return;
    if (b->pool) {
        pgb_worker_pool_wait(b->pool);
        pgb_worker_pool_free(b->pool);
    }
    for (int i = 0; i < b->worker_count; i++)
        pgb_repo_worker_close(&b->workers[i].handles);
    free(b->workers);
    pgb_ctx_free(b->pool_ctx);
    free(b);
}

static struct pgb_wal_batch *cannot_start(struct pgb_repo *repo, struct pgb_wal_batch *b, const char *what)
{
    pgb_log(repo->ctx, PGB_LOG_WARNING, "%s does not run: %s", what,
            *pgb_ctx_errmsg(repo->ctx) ? pgb_ctx_errmsg(repo->ctx) : "out of memory");
    pgb_error_clear(repo->ctx);
    pgb_wal_batch_finish(b);
    return NULL;
}

struct pgb_wal_batch *pgb_wal_batch_start(struct pgb_repo *repo, int workers, struct pgb_wal_batch_item *items,
                                          size_t count, int stop_at_not_found, pgb_wal_batch_fn fn, void *payload,
                                          const char *what)
{
    for (size_t i = 0; i < count; i++)
        items[i].rc = PGB_WAL_BATCH_SKIPPED;
    if (count == 0 || workers < 1)
        return NULL;
    if (!pgb_storage_reopenable(repo->storage)) {
        pgb_log(repo->ctx, PGB_LOG_INFO, "storage %s is made of callbacks, which serve one handle: no %s",
                pgb_storage_name(repo->storage), what);
        return NULL;
    }
    if ((size_t)workers > count)
        workers = (int)count;
    struct pgb_wal_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return cannot_start(repo, NULL, what);
    b->caller = repo->ctx;
    b->items = items;
    b->count = count;
    atomic_init(&b->next, 0);
    atomic_init(&b->limit, count);
    b->stop_at_not_found = stop_at_not_found;
    b->fn = fn;
    b->payload = payload;
    b->workers = calloc((size_t)workers, sizeof(*b->workers));
    if (!b->workers || pgb_ctx_new(&b->pool_ctx) != PGB_OK)
        return cannot_start(repo, b, what);
    for (; b->worker_count < workers; b->worker_count++) {
        struct worker *w = &b->workers[b->worker_count];
        w->batch = b;
        if (pgb_repo_worker_open(&w->handles, repo) != PGB_OK) {
            b->worker_count++; /* closed by finish, like the others */
            return cannot_start(repo, b, what);
        }
    }
    if (pgb_worker_pool_new(b->pool_ctx, workers, &b->pool) != PGB_OK) {
        pgb_error_set(repo->ctx, PGB_ERROR, "%s", pgb_ctx_errmsg(b->pool_ctx));
        return cannot_start(repo, b, what);
    }
    /* One task per worker, each looping over the items: submit never blocks (the queue holds 2 x workers). */
    for (int i = 0; i < b->worker_count; i++)
        if (pgb_worker_pool_submit(b->pool, run_worker, &b->workers[i]) != PGB_OK)
            break;
    return b;
}
