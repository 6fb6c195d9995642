/*
 * The context: errors kept per context, log and progress callbacks, and a
 * cancel flag that other threads may set.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "test_main.h"

static void test_version_of_library_matches_headers(void)
{
    CU_ASSERT_EQUAL(pgb_version(), PGB_VERSION_NUMBER);
    CU_ASSERT_STRING_EQUAL(pgb_version_string(), PGB_VERSION_STRING);
}

static void test_errors_belong_to_their_context(void)
{
    pgb_ctx *a, *b;
    CU_ASSERT_FATAL(pgb_ctx_new(&a) == PGB_OK && pgb_ctx_new(&b) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_error_set(a, PGB_ENOTFOUND, "backup %s not found", "20261125T101500F"),
                    PGB_ENOTFOUND);
    pgb_error_set_detail(a, "server said: %s\n", "no");
    CU_ASSERT_EQUAL(pgb_ctx_errcode(a), PGB_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(a), "backup 20261125T101500F not found");
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errdetail(a), "server said: no");
    CU_ASSERT_EQUAL(pgb_ctx_errcode(b), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(b), "");
    pgb_error_prefix(a, "cannot restore");
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(a), "cannot restore: backup 20261125T101500F not found");
    CU_ASSERT_EQUAL(pgb_ctx_errcode(a), PGB_ENOTFOUND);
    pgb_error_clear(a);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(a), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errdetail(a), "");
    pgb_ctx_free(a);
    pgb_ctx_free(b);
}

static void test_bad_context_pointers_are_refused(void)
{
    CU_ASSERT_EQUAL(pgb_ctx_new(NULL), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(NULL), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(NULL), "NULL"));
    int not_a_context[16] = {0};
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg((pgb_ctx *)not_a_context), "not a live pgb_ctx"));
    CU_ASSERT_EQUAL(pgb_ctx_cancel((pgb_ctx *)not_a_context), PGB_EINVALID);
    pgb_ctx_free(NULL);
}

static void test_status_names_cover_every_code(void)
{
    CU_ASSERT_STRING_EQUAL(pgb_status_name(PGB_OK), "PGB_OK");
    CU_ASSERT_STRING_EQUAL(pgb_status_name(PGB_ECORRUPT), "PGB_ECORRUPT");
    CU_ASSERT_STRING_EQUAL(pgb_status_name(PGB_ITEROVER), "PGB_ITEROVER");
    for (int code = PGB_ITEROVER; code <= PGB_OK; code++)
        CU_ASSERT_STRING_NOT_EQUAL(pgb_status_name(code), "PGB_UNKNOWN");
    CU_ASSERT_STRING_EQUAL(pgb_status_name(-999), "PGB_UNKNOWN");
}

struct log_capture {
    int calls;
    int level;
    char last[128];
};

static void capture_log(int level, const char *message, void *payload)
{
    struct log_capture *c = payload;
    c->calls++;
    c->level = level;
    strncpy(c->last, message, sizeof(c->last) - 1);
}

static void test_log_goes_to_callback_up_to_its_level(void)
{
    pgb_ctx *ctx;
    CU_ASSERT_FATAL(pgb_ctx_new(&ctx) == PGB_OK);
    pgb_log(ctx, PGB_LOG_ERROR, "silent without a callback");
    struct log_capture c = {0};
    CU_ASSERT_EQUAL(pgb_ctx_set_log(ctx, capture_log, &c, PGB_LOG_INFO), PGB_OK);
    pgb_log(ctx, PGB_LOG_WARNING, "lock of %s taken over", "main");
    CU_ASSERT_EQUAL(c.calls, 1);
    CU_ASSERT_EQUAL(c.level, PGB_LOG_WARNING);
    CU_ASSERT_STRING_EQUAL(c.last, "lock of main taken over");
    pgb_log(ctx, PGB_LOG_DEBUG, "too verbose");
    CU_ASSERT_EQUAL(c.calls, 1);
    CU_ASSERT_EQUAL(pgb_ctx_set_log(ctx, capture_log, &c, 9), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_log_level_from_name("WARNING"), PGB_LOG_WARNING);
    CU_ASSERT_EQUAL(pgb_log_level_from_name("loud"), PGB_EINVALID);
    CU_ASSERT_STRING_EQUAL(pgb_log_level_name(PGB_LOG_DEBUG), "debug");
    pgb_ctx_free(ctx);
}

static int stop_after_two(const pgb_progress *p, void *payload)
{
    int *calls = payload;
    (*calls)++;
    CU_ASSERT_STRING_EQUAL(pgb_progress_phase(p), "copy");
    CU_ASSERT_EQUAL(pgb_progress_bytes_done(p), (uint64_t)*calls * 100);
    return *calls >= 2;
}

static void test_progress_callback_can_stop_the_operation(void)
{
    pgb_ctx *ctx;
    CU_ASSERT_FATAL(pgb_ctx_new(&ctx) == PGB_OK);
    int calls = 0;
    pgb_ctx_set_progress(ctx, stop_after_two, &calls);
    struct pgb_progress p;
    pgb_progress_begin(&p, "copy");
    p.bytes_done = 100;
    CU_ASSERT_EQUAL(pgb_progress_report(ctx, &p), PGB_OK);
    p.bytes_done = 200;
    CU_ASSERT_EQUAL(pgb_progress_report(ctx, &p), PGB_ECANCELED);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_ECANCELED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "during copy"));
    CU_ASSERT_EQUAL(calls, 2);
    pgb_ctx_free(ctx);
}

static void *cancel_later(void *arg)
{
    usleep(20000);
    pgb_ctx_cancel(arg);
    return NULL;
}

static void test_cancel_from_another_thread_stops_work(void)
{
    pgb_ctx *ctx;
    CU_ASSERT_FATAL(pgb_ctx_new(&ctx) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_ctx_is_canceled(ctx), 0);
    pthread_t thread;
    CU_ASSERT_FATAL(pthread_create(&thread, NULL, cancel_later, ctx) == 0);
    struct pgb_progress p;
    pgb_progress_begin(&p, "copy");
    int rc = PGB_OK;
    /* A loop standing for a long operation that checks at each step: bounded to 10 s. */
    for (int step = 0; step < 10000 && rc == PGB_OK; step++) {
        usleep(1000);
        rc = pgb_progress_report(ctx, &p);
    }
    pthread_join(thread, NULL);
    CU_ASSERT_EQUAL(rc, PGB_ECANCELED);
    CU_ASSERT_EQUAL(pgb_ctx_is_canceled(ctx), 1);
    CU_ASSERT_EQUAL(pgb_ctx_reset_cancel(ctx), PGB_OK);
    CU_ASSERT_EQUAL(pgb_check_canceled(ctx), PGB_OK);
    pgb_ctx_free(ctx);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"version_of_library_matches_headers", test_version_of_library_matches_headers},
        {"errors_belong_to_their_context", test_errors_belong_to_their_context},
        {"bad_context_pointers_are_refused", test_bad_context_pointers_are_refused},
        {"status_names_cover_every_code", test_status_names_cover_every_code},
        {"log_goes_to_callback_up_to_its_level", test_log_goes_to_callback_up_to_its_level},
        {"progress_callback_can_stop_the_operation", test_progress_callback_can_stop_the_operation},
        {"cancel_from_another_thread_stops_work", test_cancel_from_another_thread_stops_work},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"context", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
