/*
 * Running client programs: output streamed and collected, stderr kept for the
 * message, secrets only in the child's environment, a child that dies while
 * it is being written to is an error and not a SIGPIPE that kills this
 * process; versions read from --version lines; conninfo handed to a program
 * without its password.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "logical/child_process.h"
#include "logical/pg_programs.h"
#include "test_main.h"

static pgb_ctx *ctx;

static int setup(void)
{
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

static void test_output_is_streamed_and_stderr_kept(void)
{
    const char *argv[] = {"/bin/sh", "-c", "seq 1 100000; echo 'pg_dump: error: it broke' >&2; exit 3", NULL};
    pgb_child *c = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_child_start(ctx, argv, NULL, PGB_CHILD_STDOUT, &c), PGB_OK);
    char buffer[4096];
    size_t got = 0, total = 0;
    while (pgb_child_read(c, buffer, sizeof(buffer), &got) == PGB_OK && got)
        total += got;
    CU_ASSERT_EQUAL(total, 588895); /* the bytes of seq 1 100000 */
    int status = 0;
    CU_ASSERT_EQUAL(pgb_child_wait(c, &status), PGB_OK);
    CU_ASSERT_EQUAL(status, 3);
    CU_ASSERT_STRING_EQUAL(pgb_child_stderr(c), "pg_dump: error: it broke");
    CU_ASSERT_EQUAL(pgb_child_fail(c, PGB_ERROR, "pg_dump of database x", status), PGB_ERROR);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "pg_dump of database x failed (exit status 3): pg_dump: error: it "
                                                "broke");
    pgb_child_free(c);
}

static void test_input_and_environment_reach_the_child(void)
{
    const char *argv[] = {"/bin/sh", "-c", "echo \"$PGPASSWORD\"; wc -c", NULL};
    const char *env[] = {"PGPASSWORD=s3cret", NULL};
    char *output = NULL;
    static char input[300000];
    memset(input, 'x', sizeof(input));
    CU_ASSERT_EQUAL_FATAL(pgb_child_run(ctx, argv, env, input, sizeof(input), &output, NULL), PGB_OK);
    CU_ASSERT_STRING_EQUAL(output, "s3cret\n300000\n");
    free(output);
    const char *failing[] = {"/bin/sh", "-c", "echo nope >&2; exit 2", NULL};
    CU_ASSERT_EQUAL(pgb_child_run(ctx, failing, NULL, NULL, 0, NULL, NULL), PGB_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "nope"));
    const char *missing[] = {"/nonexistent/pg_dump", "--version", NULL};
    CU_ASSERT_EQUAL(pgb_child_run(ctx, missing, NULL, NULL, 0, NULL, NULL), PGB_ENOTFOUND);
}

static void test_a_child_that_stops_reading_is_an_error_not_a_signal(void)
{
    /* The default SIGPIPE disposition would kill this test process. */
    signal(SIGPIPE, SIG_DFL);
    const char *argv[] = {"/bin/sh", "-c", "head -c 10 >/dev/null; echo 'pg_restore: error: gave up' >&2; exit 1",
                          NULL};
    pgb_child *c = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_child_start(ctx, argv, NULL, PGB_CHILD_STDIN, &c), PGB_OK);
    static char data[1 << 20];
    int rc = PGB_OK;
    for (int i = 0; i < 64 && rc == PGB_OK; i++)
        rc = pgb_child_write(c, data, sizeof(data));
    CU_ASSERT_EQUAL(rc, PGB_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "gave up"));
    sigset_t pending;
    sigpending(&pending);
    CU_ASSERT(!sigismember(&pending, SIGPIPE));
    pgb_child_free(c);
}

static void test_versions_are_read_from_version_lines(void)
{
    CU_ASSERT_EQUAL(pgb_pg_program_major("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"), 150000);
    CU_ASSERT_EQUAL(pgb_pg_program_major("pg_restore (PostgreSQL) 17beta1"), 170000);
    CU_ASSERT_EQUAL(pgb_pg_program_major("pg_dump (PostgreSQL) 9.6.24"), 90600);
    CU_ASSERT_EQUAL(pgb_pg_program_major("no version here"), -1);
}

static void test_programs_get_conninfo_without_the_password(void)
{
    char *conninfo = NULL, *password = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_conninfo_for_program(ctx, "host=db1 port=5433 user=backup password='p w\\'d' "
                                                        "dbname=postgres sslmode=require",
                                                   "shop's", &conninfo, &password),
                          PGB_OK);
    CU_ASSERT_STRING_EQUAL(password, "p w'd");
    CU_ASSERT_PTR_NULL(strstr(conninfo, "p w"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conninfo, "dbname='shop\\'s'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conninfo, "host='db1'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(conninfo, "sslmode='require'"));
    CU_ASSERT_PTR_NULL(strstr(conninfo, "postgres"));
    free(conninfo);
    free(password);
    CU_ASSERT_EQUAL_FATAL(pgb_conninfo_for_program(ctx, "postgresql://u:pw@h:5/d", NULL, &conninfo, &password),
                          PGB_OK);
    CU_ASSERT_STRING_EQUAL(password, "pw");
    CU_ASSERT_PTR_NOT_NULL(strstr(conninfo, "dbname='d'"));
    free(conninfo);
    free(password);
    CU_ASSERT_EQUAL(pgb_conninfo_for_program(ctx, "host=", NULL, &conninfo, &password), PGB_OK);
    free(conninfo);
    free(password);
    CU_ASSERT_EQUAL(pgb_conninfo_for_program(ctx, "nokey", NULL, &conninfo, &password), PGB_EINVALID);
    struct pgb_program_env env;
    CU_ASSERT_EQUAL(pgb_program_env_make(ctx, "x", &env), PGB_OK);
    CU_ASSERT_STRING_EQUAL(env.entries[0], "PGPASSWORD=x");
    CU_ASSERT_PTR_NULL(env.entries[1]);
    pgb_program_env_clear(&env);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"test_output_is_streamed_and_stderr_kept", test_output_is_streamed_and_stderr_kept},
        {"test_input_and_environment_reach_the_child", test_input_and_environment_reach_the_child},
        {"test_a_child_that_stops_reading_is_an_error_not_a_signal",
         test_a_child_that_stops_reading_is_an_error_not_a_signal},
        {"test_versions_are_read_from_version_lines", test_versions_are_read_from_version_lines},
        {"test_programs_get_conninfo_without_the_password", test_programs_get_conninfo_without_the_password},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"child_process", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
