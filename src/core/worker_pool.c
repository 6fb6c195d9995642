#include "core/worker_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/context.h"
#include "core/error.h"

#define WORKER_POOL_MAX_THREADS 256
#define WORKER_POOL_MESSAGE_SIZE 1024

struct task {
    pgb_worker_fn fn;
    void *arg;
};

struct pgb_worker_pool {
    pgb_ctx *ctx;
    pthread_mutex_t lock;
    pthread_cond_t work_ready;  /* workers: a task is queued, or the pool stops */
    pthread_cond_t space_ready; /* submit: the queue has room */
    pthread_cond_t idle;        /* wait: nothing queued and nothing running */
    pthread_t *threads;
    int thread_count;
    struct task *queue; /* ring of capacity tasks */
    size_t capacity, head, count, running;
    int stopping;
    int skipped_for_cancel;
    int failure; /* first failure since the last wait, 0 if none */
    char failure_message[WORKER_POOL_MESSAGE_SIZE];
};

static int pool_canceled(const pgb_worker_pool *pool)
{
    return atomic_load(&pool->ctx->canceled) != 0;
}

/* Called with the lock held, from a worker. */
static void record_failure(pgb_worker_pool *pool, int code, const char *message)
{
    if (pool->failure != 0)
        return;
    pool->failure = code < 0 ? code : PGB_ERROR;
    if (message[0])
        snprintf(pool->failure_message, sizeof(pool->failure_message), "%s", message);
    else
        snprintf(pool->failure_message, sizeof(pool->failure_message), "task failed with %s",
                 pgb_status_name(pool->failure));
    pthread_cond_broadcast(&pool->space_ready); /* a blocked submit can return now */
}

static void *worker_main(void *arg)
{
    pgb_worker_pool *pool = arg;
    char errbuf[WORKER_POOL_MESSAGE_SIZE];
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->count == 0 && !pool->stopping)
            pthread_cond_wait(&pool->work_ready, &pool->lock);
        if (pool->count == 0)
            break;
        struct task task = pool->queue[pool->head];
        pool->head = (pool->head + 1) % pool->capacity;
        pool->count--;
        pthread_cond_signal(&pool->space_ready);
        if (pool->failure == 0 && pool->stopping == 0 && !pool_canceled(pool)) {
            pool->running++;
            pthread_mutex_unlock(&pool->lock);
            errbuf[0] = '\0';
            int rc = task.fn(task.arg, errbuf, sizeof(errbuf));
            errbuf[sizeof(errbuf) - 1] = '\0';
            pthread_mutex_lock(&pool->lock);
            pool->running--;
            if (rc != 0)
                record_failure(pool, rc, errbuf);
        } else if (pool->failure == 0 && pool_canceled(pool)) {
            pool->skipped_for_cancel = 1;
        }
        if (pool->count == 0 && pool->running == 0)
            pthread_cond_broadcast(&pool->idle);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Stop and join the first started threads, then free everything. */
static void pool_destroy(pgb_worker_pool *pool, int started)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < started; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->idle);
    pthread_cond_destroy(&pool->space_ready);
    pthread_cond_destroy(&pool->work_ready);
    pthread_mutex_destroy(&pool->lock);
    free(pool->queue);
    free(pool->threads);
    free(pool);
}

int pgb_worker_pool_new(pgb_ctx *ctx, int threads, pgb_worker_pool **out)
{
    if (threads < 1 || threads > WORKER_POOL_MAX_THREADS)
        return pgb_error_set(ctx, PGB_EINVALID, "worker pool takes 1 to %d threads (got %d)",
                             WORKER_POOL_MAX_THREADS, threads);
    pgb_worker_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return pgb_error_nomem(ctx);
    pool->ctx = ctx;
    pool->thread_count = threads;
    pool->capacity = 2 * (size_t)threads;
    pool->threads = calloc((size_t)threads, sizeof(*pool->threads));
    pool->queue = calloc(pool->capacity, sizeof(*pool->queue));
    if (!pool->threads || !pool->queue) {
        free(pool->threads);
        free(pool->queue);
        free(pool);
        return pgb_error_nomem(ctx);
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->space_ready, NULL);
    pthread_cond_init(&pool->idle, NULL);
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);
        if (rc != 0) {
            pool_destroy(pool, i);
            return pgb_error_set(ctx, PGB_ERROR, "cannot start worker thread %d of %d: %s", i + 1,
                                 threads, strerror(rc));
        }
    }
    *out = pool;
    return PGB_OK;
}

int pgb_worker_pool_submit(pgb_worker_pool *pool, pgb_worker_fn fn, void *arg)
{
    if (!fn)
        return pgb_error_set(pool->ctx, PGB_EINVALID, "worker pool task has no function");
    pthread_mutex_lock(&pool->lock);
    /* Workers keep taking tasks off (running or skipping them), so this ends. */
    while (pool->count == pool->capacity && pool->failure == 0 && !pool_canceled(pool))
        pthread_cond_wait(&pool->space_ready, &pool->lock);
    if (pool->failure != 0) {
        char message[WORKER_POOL_MESSAGE_SIZE];
        int code = pool->failure;
        memcpy(message, pool->failure_message, sizeof(message));
        pthread_mutex_unlock(&pool->lock);
        return pgb_error_set(pool->ctx, code, "%s", message);
    }
    if (pool_canceled(pool)) {
        pool->skipped_for_cancel = 1;
        pthread_mutex_unlock(&pool->lock);
        return pgb_error_set(pool->ctx, PGB_ECANCELED, "canceled: no more work is started");
    }
    pool->queue[(pool->head + pool->count) % pool->capacity] = (struct task){fn, arg};
    pool->count++;
    pthread_cond_signal(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    return PGB_OK;
}

int pgb_worker_pool_wait(pgb_worker_pool *pool)
{
    char message[WORKER_POOL_MESSAGE_SIZE];
    pthread_mutex_lock(&pool->lock);
    while (pool->count > 0 || pool->running > 0)
        pthread_cond_wait(&pool->idle, &pool->lock);
    int code = pool->failure, canceled = pool->skipped_for_cancel;
    memcpy(message, pool->failure_message, sizeof(message));
    /* The batch is over: the next one starts clean. */
    pool->failure = 0;
    pool->skipped_for_cancel = 0;
    pthread_mutex_unlock(&pool->lock);
    if (code != 0)
        return pgb_error_set(pool->ctx, code, "%s", message);
    if (canceled)
        return pgb_error_set(pool->ctx, PGB_ECANCELED, "canceled: queued work was skipped");
    return PGB_OK;
}

void pgb_worker_pool_free(pgb_worker_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->count = 0; /* skip what is queued; running tasks finish */
    pthread_cond_broadcast(&pool->space_ready);
    pthread_mutex_unlock(&pool->lock);
    pool_destroy(pool, pool->thread_count);
}
