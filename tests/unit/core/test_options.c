/*
 * The options registry and option sets: values checked when set, unknown keys
 * answered with the closest known one, and the precedence of ../shared/CLI.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "test_main.h"

static pgb_ctx *ctx;
static pgb_options *opts;

static int setup(void)
{
    return pgb_ctx_new(&ctx) || pgb_options_new(&opts, ctx);
}

static int teardown(void)
{
    pgb_options_free(opts);
    pgb_ctx_free(ctx);
    return 0;
}

static const char *get(const char *key)
{
    const char *value = NULL;
    CU_ASSERT_EQUAL(pgb_options_get(opts, key, &value), PGB_OK);
    return value;
}

static void test_registry_lists_cli_options_with_defaults(void)
{
    CU_ASSERT(pgb_option_count() >= 20);
    int compress = pgb_option_find("compress");
    CU_ASSERT(compress >= 0);
    CU_ASSERT_STRING_EQUAL(pgb_option_default((size_t)compress), "zstd:3");
    CU_ASSERT_EQUAL(pgb_option_type_of((size_t)compress), PGB_OPTION_COMPRESS);
    CU_ASSERT_STRING_EQUAL(pgb_option_default((size_t)pgb_option_find("cluster")), "main");
    CU_ASSERT(pgb_option_find("log_level") == pgb_option_find("log-level"));
    CU_ASSERT_EQUAL(pgb_option_find("no-such-thing"), -1);
    CU_ASSERT_PTR_NULL(pgb_option_name(pgb_option_count()));
    for (size_t i = 0; i < pgb_option_count(); i++) {
        CU_ASSERT_PTR_NOT_NULL(pgb_option_help(i));
        CU_ASSERT_EQUAL(pgb_option_find(pgb_option_name(i)), (int)i);
    }
}

static void test_unset_option_reads_its_default(void)
{
    pgb_options_unset(opts, "compress");
    CU_ASSERT_STRING_EQUAL(get("compress"), "zstd:3");
    CU_ASSERT_PTR_NULL(get("repo"));
    CU_ASSERT_EQUAL(pgb_options_source(opts, "compress"), PGB_SOURCE_DEFAULT);
}

static void test_valid_values_are_kept(void)
{
    CU_ASSERT_EQUAL(pgb_options_set(opts, "compress", "lz4:5"), PGB_OK);
    CU_ASSERT_STRING_EQUAL(get("compress"), "lz4:5");
    CU_ASSERT_EQUAL(pgb_options_set(opts, "compress", "none"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "jobs", "8"), PGB_OK);
    int64_t jobs = 0;
    CU_ASSERT_EQUAL(pgb_options_get_int(opts, "jobs", &jobs), PGB_OK);
    CU_ASSERT_EQUAL(jobs, 8);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "json", "on"), PGB_OK);
    int json = -1;
    CU_ASSERT_EQUAL(pgb_options_get_bool(opts, "json", &json), PGB_OK);
    CU_ASSERT_EQUAL(json, 1);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "log_level", "debug"), PGB_OK);
    CU_ASSERT_STRING_EQUAL(get("log-level"), "debug");
}

static void test_progress_is_automatic_until_set(void)
{
    int progress = 0;
    CU_ASSERT_EQUAL(pgb_options_get_bool(opts, "progress", &progress), PGB_OK);
    CU_ASSERT_EQUAL(progress, -1);
    pgb_options_set(opts, "progress", "false");
    CU_ASSERT_EQUAL(pgb_options_get_bool(opts, "progress", &progress), PGB_OK);
    CU_ASSERT_EQUAL(progress, 0);
}

static void test_bad_values_are_refused_with_what_was_expected(void)
{
    pgb_options_set(opts, "jobs", "3");
    CU_ASSERT_EQUAL(pgb_options_set(opts, "jobs", "zero"), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "jobs"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "whole number from 1 to 256"));
    CU_ASSERT_STRING_EQUAL(get("jobs"), "3"); /* the old value stays */
    CU_ASSERT_EQUAL(pgb_options_set(opts, "jobs", "0"), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "jobs", "4x"), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "compress", "brotli"), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "zstd, lz4, gzip, none"));
    CU_ASSERT_EQUAL(pgb_options_set(opts, "compress", "zstd:23"), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "level from 1 to 22"));
    CU_ASSERT_EQUAL(pgb_options_set(opts, "compress", "gzip:"), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "json", "maybe"), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "log-level", "verbose"), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "error, warning, info, debug"));
    CU_ASSERT_EQUAL(pgb_options_set(opts, "repo", ""), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_options_set(opts, "repo", NULL), PGB_EINVALID);
}

static void test_unknown_key_suggests_the_closest(void)
{
    CU_ASSERT_EQUAL(pgb_options_set(opts, "compres", "zstd"), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "unknown option 'compres'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "did you mean 'compress'"));
    CU_ASSERT_EQUAL(pgb_options_set(opts, "passphrase_fil", "x"), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "'passphrase-file'"));
    CU_ASSERT_EQUAL(pgb_options_set(opts, "zzzzzzzzzzzz", "x"), PGB_EINVALID);
    CU_ASSERT_PTR_NULL(strstr(pgb_ctx_errmsg(ctx), "did you mean"));
    const char *value;
    CU_ASSERT_EQUAL(pgb_options_get(opts, "jbos", &value), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "'jobs'"));
}

static void test_success_clears_the_previous_error(void)
{
    pgb_options_set(opts, "jobs", "none");
    CU_ASSERT_NOT_EQUAL(pgb_ctx_errmsg(ctx)[0], '\0');
    CU_ASSERT_EQUAL(pgb_options_set(opts, "jobs", "2"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "");
}

static void test_precedence_explicit_over_env_over_file(void)
{
    pgb_options *o;
    CU_ASSERT_FATAL(pgb_options_new(&o, ctx) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_options_set(o, "jobs", "7"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_options_set_from(o, "jobs", "5", PGB_SOURCE_ENVIRONMENT), PGB_OK);
    CU_ASSERT_EQUAL(pgb_options_set_from(o, "jobs", "3", PGB_SOURCE_FILE), PGB_OK);
    const char *v;
    pgb_options_get(o, "jobs", &v);
    CU_ASSERT_STRING_EQUAL(v, "7");
    CU_ASSERT_EQUAL(pgb_options_source(o, "jobs"), PGB_SOURCE_EXPLICIT);

    /* A lower source set first is replaced by a higher one. */
    CU_ASSERT_EQUAL(pgb_options_set_from(o, "cluster", "fromfile", PGB_SOURCE_FILE), PGB_OK);
    CU_ASSERT_EQUAL(pgb_options_set_from(o, "cluster", "fromenv", PGB_SOURCE_ENVIRONMENT), PGB_OK);
    pgb_options_get(o, "cluster", &v);
    CU_ASSERT_STRING_EQUAL(v, "fromenv");
    CU_ASSERT_EQUAL(pgb_options_set_from(o, "cluster", "x", PGB_SOURCE_DEFAULT), PGB_EINVALID);
    pgb_options_free(o);
}

static void test_list_option_keeps_values_of_one_source(void)
{
    pgb_options *o;
    CU_ASSERT_FATAL(pgb_options_new(&o, ctx) == PGB_OK);
    const char *v = "unchanged";
    CU_ASSERT_EQUAL(pgb_options_get_at(o, "recipient", 0, &v), PGB_ITEROVER);
    CU_ASSERT_EQUAL(pgb_options_get(o, "recipient", &v), PGB_OK);
    CU_ASSERT_PTR_NULL(v);
    pgb_options_set_from(o, "recipient", "env.pub", PGB_SOURCE_ENVIRONMENT);
    pgb_options_set(o, "recipient", "a.pub");
    pgb_options_set(o, "recipient", "b.pub");
    CU_ASSERT_EQUAL(pgb_options_get_at(o, "recipient", 0, &v), PGB_OK);
    CU_ASSERT_STRING_EQUAL(v, "a.pub");
    CU_ASSERT_EQUAL(pgb_options_get_at(o, "recipient", 1, &v), PGB_OK);
    CU_ASSERT_STRING_EQUAL(v, "b.pub");
    CU_ASSERT_EQUAL(pgb_options_get_at(o, "recipient", 2, &v), PGB_ITEROVER);
    pgb_options_free(o);
}

static void test_environment_variables_set_options(void)
{
    pgb_options *o;
    CU_ASSERT_FATAL(pgb_options_new(&o, ctx) == PGB_OK);
    const char *env[] = {"PATH=/bin", "PGBACKUP_LOG_LEVEL=debug", "PGBACKUP_PG_BINDIR=/opt/pg",
                         "PGBACKUP_LIBRARY=/x/libpgbackup.so", NULL};
    CU_ASSERT_EQUAL(pgb_options_load_env(o, env), PGB_OK);
    const char *v;
    pgb_options_get(o, "log-level", &v);
    CU_ASSERT_STRING_EQUAL(v, "debug");
    pgb_options_get(o, "pg-bindir", &v);
    CU_ASSERT_STRING_EQUAL(v, "/opt/pg");
    CU_ASSERT_EQUAL(pgb_options_source(o, "pg-bindir"), PGB_SOURCE_ENVIRONMENT);

    const char *bad[] = {"PGBACKUP_JOBS=many", NULL};
    CU_ASSERT_EQUAL(pgb_options_load_env(o, bad), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "environment variable PGBACKUP_JOBS"));
    const char *unknown[] = {"PGBACKUP_COMPRES=zstd", NULL};
    CU_ASSERT_EQUAL(pgb_options_load_env(o, unknown), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "did you mean 'compress'"));
    pgb_options_free(o);
}

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/pgb-test-conf-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_config_file_sets_options_below_env(void)
{
    pgb_options *o;
    CU_ASSERT_FATAL(pgb_options_new(&o, ctx) == PGB_OK);
    char *path = write_temp("# comment\n[global]\nrepo = /srv/backups\n; other comment\n"
                            "compress=gzip:6\n  cluster = \" spaced \"  \njobs = 4\n");
    CU_ASSERT_FATAL(path != NULL);
    const char *env[] = {"PGBACKUP_JOBS=2", NULL};
    CU_ASSERT_EQUAL(pgb_options_load_env(o, env), PGB_OK);
    CU_ASSERT_EQUAL(pgb_options_load_file(o, path), PGB_OK);
    const char *v;
    pgb_options_get(o, "repo", &v);
    CU_ASSERT_STRING_EQUAL(v, "/srv/backups");
    pgb_options_get(o, "compress", &v);
    CU_ASSERT_STRING_EQUAL(v, "gzip:6");
    pgb_options_get(o, "cluster", &v);
    CU_ASSERT_STRING_EQUAL(v, " spaced ");
    pgb_options_get(o, "jobs", &v);
    CU_ASSERT_STRING_EQUAL(v, "2");
    unlink(path);
    pgb_options_free(o);
}

static void test_config_file_errors_name_file_and_line(void)
{
    pgb_options *o;
    CU_ASSERT_FATAL(pgb_options_new(&o, ctx) == PGB_OK);
    char *path = write_temp("repo = /x\n\ncompres = zstd\n");
    CU_ASSERT_EQUAL(pgb_options_load_file(o, path), PGB_EINVALID);
    char expected[128];
    snprintf(expected, sizeof(expected), "%s:3: unknown option 'compres'; did you mean 'compress'?", path);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), expected);
    unlink(path);

    path = write_temp("jobs = -1\n");
    CU_ASSERT_EQUAL(pgb_options_load_file(o, path), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), ":1: invalid value '-1' for jobs"));
    unlink(path);

    path = write_temp("just words\n");
    CU_ASSERT_EQUAL(pgb_options_load_file(o, path), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "expected 'key = value'"));
    unlink(path);

    path = write_temp("[cluster]\n");
    CU_ASSERT_EQUAL(pgb_options_load_file(o, path), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "unknown section [cluster]"));
    unlink(path);

    CU_ASSERT_EQUAL(pgb_options_load_file(o, "/nonexistent/pgbackup.conf"), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "/nonexistent/pgbackup.conf"));
    pgb_options_free(o);
}

static void test_handles_are_checked_at_entry(void)
{
    CU_ASSERT_EQUAL(pgb_options_set(NULL, "jobs", "1"), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_options_new(NULL, ctx), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_options_new(&opts, NULL), PGB_EINVALID);
    /* A context is not an option set, even cast to one. */
    CU_ASSERT_EQUAL(pgb_options_set((pgb_options *)ctx, "jobs", "1"), PGB_EINVALID);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"registry_lists_cli_options_with_defaults", test_registry_lists_cli_options_with_defaults},
        {"unset_option_reads_its_default", test_unset_option_reads_its_default},
        {"valid_values_are_kept", test_valid_values_are_kept},
        {"progress_is_automatic_until_set", test_progress_is_automatic_until_set},
        {"bad_values_are_refused_with_what_was_expected", test_bad_values_are_refused_with_what_was_expected},
        {"unknown_key_suggests_the_closest", test_unknown_key_suggests_the_closest},
        {"success_clears_the_previous_error", test_success_clears_the_previous_error},
        {"precedence_explicit_over_env_over_file", test_precedence_explicit_over_env_over_file},
        {"list_option_keeps_values_of_one_source", test_list_option_keeps_values_of_one_source},
        {"environment_variables_set_options", test_environment_variables_set_options},
        {"config_file_sets_options_below_env", test_config_file_sets_options_below_env},
        {"config_file_errors_name_file_and_line", test_config_file_errors_name_file_and_line},
        {"handles_are_checked_at_entry", test_handles_are_checked_at_entry},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"options", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
