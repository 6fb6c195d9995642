/*
 * The worker pool: every task runs once, the first failure is what the caller
 * sees, work not yet started is skipped after a failure or a cancel, and the
 * queue stays bounded without deadlock even with one thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/worker_pool.h"
#include "test_main.h"

#define TASKS 1000

static pgb_ctx *ctx;

struct task {
    int index;
    int fail_code; /* returned when non-zero */
    const char *fail_message;
    atomic_int *gate; /* when set, wait until it opens */
    atomic_int started, ran;
    unsigned long long result;
};

static struct task tasks[TASKS];

static void reset_tasks(void)
{
    for (int i = 0; i < TASKS; i++) {
        tasks[i].index = i;
        tasks[i].fail_code = 0;
        tasks[i].fail_message = NULL;
        tasks[i].gate = NULL;
        atomic_store(&tasks[i].started, 0);
        atomic_store(&tasks[i].ran, 0);
        tasks[i].result = 0;
    }
}

static int run_task(void *arg, char *errbuf, size_t errlen)
{
    struct task *t = arg;
    atomic_store(&t->started, 1);
    while (t->gate && !atomic_load(t->gate))
        usleep(1000);
    atomic_store(&t->ran, 1);
    /* Some real work, so that tasks overlap on several threads. */
    unsigned long long x = (unsigned long long)t->index;
    for (int i = 0; i < 1000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    t->result = x;
    if (t->fail_code) {
        if (t->fail_message)
            snprintf(errbuf, errlen, "%s", t->fail_message);
        return t->fail_code;
    }
    return 0;
}

static unsigned long long expected_result(int index)
{
    unsigned long long x = (unsigned long long)index;
    for (int i = 0; i < 1000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

static int count_ran(int from, int to)
{
    int n = 0;
    for (int i = from; i < to; i++)
        n += atomic_load(&tasks[i].ran);
    return n;
}

static int setup(void)
{
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

static void test_every_task_runs_once_with_its_result(void)
{
    pgb_worker_pool *pool = NULL;
    CU_ASSERT_FATAL(pgb_worker_pool_new(ctx, 4, &pool) == PGB_OK);
    for (int batch = 0; batch < 2; batch++) { /* the pool takes new work after wait */
        reset_tasks();
        for (int i = 0; i < TASKS; i++)
            CU_ASSERT_EQUAL(pgb_worker_pool_submit(pool, run_task, &tasks[i]), PGB_OK);
        CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_OK);
        CU_ASSERT_EQUAL(count_ran(0, TASKS), TASKS);
        int right = 0;
        for (int i = 0; i < TASKS; i++)
            right += tasks[i].result == expected_result(i);
        CU_ASSERT_EQUAL(right, TASKS);
    }
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_OK); /* nothing queued: returns at once */
    pgb_worker_pool_free(pool);
}

static void test_first_failure_is_reported_and_later_work_skipped(void)
{
    pgb_worker_pool *pool = NULL;
    CU_ASSERT_FATAL(pgb_worker_pool_new(ctx, 1, &pool) == PGB_OK);
    reset_tasks();
    tasks[10].fail_code = PGB_EIO;
    tasks[10].fail_message = "cannot write base/16384/10: No space left on device";
    tasks[500].fail_code = PGB_ECORRUPT;
    tasks[500].fail_message = "later failure";
    int submitted = 0, submit_rc = PGB_OK;
    while (submitted < TASKS &&
           (submit_rc = pgb_worker_pool_submit(pool, run_task, &tasks[submitted])) == PGB_OK)
        submitted++;
    /* Submit tells the producer to stop once a task has failed. */
    CU_ASSERT_EQUAL(submit_rc, PGB_EIO);
    CU_ASSERT(submitted < 20);
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_EIO);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx),
                           "cannot write base/16384/10: No space left on device");
    /* One thread runs in order: 0..10 ran, nothing after the failure started. */
    CU_ASSERT_EQUAL(count_ran(0, 11), 11);
    CU_ASSERT_EQUAL(count_ran(11, TASKS), 0);

    /* The next batch starts clean. */
    reset_tasks();
    CU_ASSERT_EQUAL(pgb_worker_pool_submit(pool, run_task, &tasks[0]), PGB_OK);
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_OK);
    pgb_worker_pool_free(pool);
}

static void test_first_failure_wins_with_many_threads(void)
{
    pgb_worker_pool *pool = NULL;
    CU_ASSERT_FATAL(pgb_worker_pool_new(ctx, 4, &pool) == PGB_OK);
    reset_tasks();
    tasks[5].fail_code = PGB_ECORRUPT;
    tasks[5].fail_message = "checksum mismatch in base/1/5";
    tasks[TASKS - 1].fail_code = PGB_EIO;
    tasks[TASKS - 1].fail_message = "never reached";
    for (int i = 0; i < TASKS; i++)
        pgb_worker_pool_submit(pool, run_task,
                               &tasks[i]); /* keeps going: the pool skips the rest */
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_ECORRUPT);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "checksum mismatch in base/1/5");
    CU_ASSERT_EQUAL(atomic_load(&tasks[TASKS - 1].ran), 0);
    CU_ASSERT(count_ran(0, TASKS) < 100);
    pgb_worker_pool_free(pool);
}

static void test_failure_without_message_gets_one(void)
{
    pgb_worker_pool *pool = NULL;
    CU_ASSERT_FATAL(pgb_worker_pool_new(ctx, 2, &pool) == PGB_OK);
    reset_tasks();
    tasks[0].fail_code = PGB_ENOTFOUND;
    CU_ASSERT_EQUAL(pgb_worker_pool_submit(pool, run_task, &tasks[0]), PGB_OK);
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "task failed with PGB_ENOTFOUND");
    pgb_worker_pool_free(pool);
}

static void test_cancel_flag_skips_queued_work(void)
{
    pgb_worker_pool *pool = NULL;
    CU_ASSERT_FATAL(pgb_worker_pool_new(ctx, 1, &pool) == PGB_OK);
    reset_tasks();
    atomic_int gate;
    atomic_init(&gate, 0);
    tasks[0].gate = &gate;
    /* Task 0 holds the only thread; tasks 1 and 2 wait in the queue. */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(pgb_worker_pool_submit(pool, run_task, &tasks[i]), PGB_OK);
    CU_ASSERT_EQUAL(pgb_ctx_cancel(ctx), PGB_OK);
    CU_ASSERT_EQUAL(pgb_worker_pool_submit(pool, run_task, &tasks[3]), PGB_ECANCELED);
    atomic_store(&gate, 1);
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_ECANCELED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "canceled"));
    CU_ASSERT_EQUAL(atomic_load(&tasks[0].ran), 1); /* already running: finishes */
    CU_ASSERT_EQUAL(count_ran(1, TASKS), 0);

    pgb_ctx_reset_cancel(ctx);
    CU_ASSERT_EQUAL(pgb_worker_pool_submit(pool, run_task, &tasks[1]), PGB_OK);
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), PGB_OK);
    CU_ASSERT_EQUAL(atomic_load(&tasks[1].ran), 1);
    pgb_worker_pool_free(pool);
}

struct producer {
    pgb_worker_pool *pool;
    atomic_int submitted;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 1; i <= 10; i++) {
        if (pgb_worker_pool_submit(p->pool, run_task, &tasks[i]) != PGB_OK)
            break;
        atomic_fetch_add(&p->submitted, 1);
    }
    return NULL;
}

static void test_submit_blocks_when_queue_is_full(void)
{
    struct producer p;
    CU_ASSERT_FATAL(pgb_worker_pool_new(ctx, 1, &p.pool) == PGB_OK);
    atomic_init(&p.submitted, 0);
    reset_tasks();
    atomic_int gate;
    atomic_init(&gate, 0);
    tasks[0].gate = &gate;
    CU_ASSERT_EQUAL(pgb_worker_pool_submit(p.pool, run_task, &tasks[0]), PGB_OK);
    while (!atomic_load(&tasks[0].started))
        usleep(1000);
    pthread_t producer;
    CU_ASSERT_FATAL(pthread_create(&producer, NULL, produce, &p) == 0);
    for (int i = 0; i < 5000 && atomic_load(&p.submitted) < 2; i++)
        usleep(1000);
    usleep(100000);
    /* One thread busy, 2 * 1 queued: the third submit still waits. */
    CU_ASSERT_EQUAL(atomic_load(&p.submitted), 2);
    atomic_store(&gate, 1);
    pthread_join(producer, NULL);
    CU_ASSERT_EQUAL(atomic_load(&p.submitted), 10);
    CU_ASSERT_EQUAL(pgb_worker_pool_wait(p.pool), PGB_OK);
    CU_ASSERT_EQUAL(count_ran(0, 11), 11);
    pgb_worker_pool_free(p.pool);
}

static void *open_gate_later(void *gate)
{
    usleep(100000);
    atomic_store((atomic_int *)gate, 1);
    return NULL;
}

static void test_one_thread_never_deadlocks(void)
{
    pgb_worker_pool *pool = NULL;
    CU_ASSERT_FATAL(pgb_worker_pool_new(ctx, 1, &pool) == PGB_OK);
    for (int round = 0; round < 20; round++) {
        reset_tasks();
        if (round % 2)
            tasks[round * 37].fail_code = PGB_ERROR;
        for (int i = 0; i < TASKS; i++)
            pgb_worker_pool_submit(pool, run_task, &tasks[i]);
        CU_ASSERT_EQUAL(pgb_worker_pool_wait(pool), round % 2 ? PGB_ERROR : PGB_OK);
        CU_ASSERT_EQUAL(count_ran(0, TASKS), round % 2 ? round * 37 + 1 : TASKS);
    }
    /* Freeing with work queued skips it and waits for the running task. */
    reset_tasks();
    atomic_int gate;
    atomic_init(&gate, 0);
    tasks[0].gate = &gate;
    for (int i = 0; i < 3; i++)
        pgb_worker_pool_submit(pool, run_task, &tasks[i]);
    while (!atomic_load(&tasks[0].started))
        usleep(1000);
    pthread_t opener;
    CU_ASSERT_FATAL(pthread_create(&opener, NULL, open_gate_later, &gate) == 0);
    pgb_worker_pool_free(pool);
    pthread_join(opener, NULL);
    CU_ASSERT_EQUAL(atomic_load(&tasks[0].ran), 1);
    CU_ASSERT_EQUAL(count_ran(1, 3), 0);
}

static void test_bad_thread_counts_are_refused(void)
{
    pgb_worker_pool *pool = NULL;
    CU_ASSERT_EQUAL(pgb_worker_pool_new(ctx, 0, &pool), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "1 to 256 threads (got 0)"));
    CU_ASSERT_EQUAL(pgb_worker_pool_new(ctx, 257, &pool), PGB_EINVALID);
    CU_ASSERT_PTR_NULL(pool);
    pgb_worker_pool_free(NULL);
}

int main(void)
{
    alarm(60); /* a deadlock fails the test instead of hanging it */
    CU_TestInfo tests_info[] = {
        {"every_task_runs_once_with_its_result", test_every_task_runs_once_with_its_result},
        {"first_failure_is_reported_and_later_work_skipped",
         test_first_failure_is_reported_and_later_work_skipped},
        {"first_failure_wins_with_many_threads", test_first_failure_wins_with_many_threads},
        {"failure_without_message_gets_one", test_failure_without_message_gets_one},
        {"cancel_flag_skips_queued_work", test_cancel_flag_skips_queued_work},
        {"submit_blocks_when_queue_is_full", test_submit_blocks_when_queue_is_full},
        {"one_thread_never_deadlocks", test_one_thread_never_deadlocks},
        {"bad_thread_counts_are_refused", test_bad_thread_counts_are_refused},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"worker_pool", setup, teardown, NULL, NULL, tests_info},
                             CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
