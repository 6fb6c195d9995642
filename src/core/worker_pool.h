/*
 * A small pool of threads for per-object work (compressing and storing files
 * in parallel). The pool's context is touched only by the thread that calls
 * the pool's functions: a pgb_ctx is single-threaded, so workers report a
 * failure as a code and a message in their own buffer, which the calling
 * thread copies into the context.
 */
#ifndef PGB_CORE_WORKER_POOL_H
#define PGB_CORE_WORKER_POOL_H

#include <stddef.h>

#include <pgbackup/common.h>

typedef struct pgb_worker_pool pgb_worker_pool;

/*
 * One unit of work, run on a worker thread. Returns 0, or a negative PGB_E*
 * code with a message (what failed, on which object) written into errbuf.
 * It must not use the pool's context, except through its own objects.
 */
typedef int (*pgb_worker_fn)(void *arg, char *errbuf, size_t errlen);

/*
 * Start threads workers (1 to 256). The pool keeps ctx to report failures
 * into and reads its cancel flag from the workers (the flag is atomic).
 * Free the pool with pgb_worker_pool_free(). Returns 0, PGB_EINVALID, PGB_ENOMEM
 * or PGB_ERROR when a thread cannot start.
 */
int pgb_worker_pool_new(pgb_ctx *ctx, int threads, pgb_worker_pool **out);

/*
 * Queue fn(arg). Blocks while 2 * threads tasks are already waiting, so that
 * memory stays bounded however much work there is. The pool never frees arg.
 * Returns 0; or, once a task has failed or the context is canceled, that
 * failure (PGB_ECANCELED when canceled) without queuing, so the caller can stop
 * producing work. Must not be called from inside a task.
 */
int pgb_worker_pool_submit(pgb_worker_pool *pool, pgb_worker_fn fn, void *arg);

/*
 * Wait until every submitted task has run or been skipped. Returns 0, or the
 * first failure of a task (its code and message go into the context), or
 * PGB_ECANCELED when queued work was skipped because the context was
 * canceled. Tasks not yet started when a task fails are skipped. After wait
 * the pool is empty and takes new work.
 */
int pgb_worker_pool_wait(pgb_worker_pool *pool);

/* Skip queued work, wait for running tasks, stop the threads, free the pool. */
void pgb_worker_pool_free(pgb_worker_pool *pool);

#endif
