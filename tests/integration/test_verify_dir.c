/*
 * pgb_verify_dir and `pgbackup verify-dir` on real pg_basebackup copies of a
 * PostgreSQL 15 server (with a tablespace, so pg_tblspc links are followed):
 * a sound copy verifies, as the real pg_verifybackup says; each kind of damage
 * is found, exactly once and naming the damaged path, and pg_verifybackup
 * rejects the same copies.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include <pgbackup/pgbackup.h>

#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;
static pgb_ctx *ctx;
static char backup[PATH_MAX];   /* the pg_basebackup copy, never damaged */
static char relation[256];      /* a relation file of table verify_data, relative to the backup */
static int copy_number;

/* Run a shell command; returns its exit status and its output (stdout and stderr) into out. */
static int run(const char *command, char *out, size_t out_size)
{
    char wrapped[4 * PATH_MAX];
    snprintf(wrapped, sizeof(wrapped), "%s 2>&1", command);
    FILE *pipe = popen(wrapped, "r");
    if (!pipe)
        return -1;
    size_t used = 0, got;
    char chunk[4096];
    if (out && out_size)
        out[0] = '\0';
    while ((got = fread(chunk, 1, sizeof(chunk), pipe)) > 0) {
        if (out && used + 1 < out_size) {
            size_t take = got < out_size - used - 1 ? got : out_size - used - 1;
            memcpy(out + used, chunk, take);
            used += take;
            out[used] = '\0';
        }
    }
    int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void psql(const char *sql, char *out, size_t size)
{
    if (pg_fixture_psql(&server, sql, out, size) != 0)
        fprintf(stderr, "psql failed: %s\n%s\n", sql, out ? out : "");
}

static int setup(void)
{
    static const char *const settings[] = {"max_wal_senders = 4", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    char out[512], sql[1024];
    snprintf(sql, sizeof(sql), "%s/tablespace", server.dir);
    mkdir(sql, 0700);
    snprintf(sql, sizeof(sql), "CREATE TABLESPACE verify_space LOCATION '%s/tablespace'", server.dir);
    psql(sql, out, sizeof(out));
    /* About 46 MB: a file large enough to be read ahead on a thread of its own with --jobs 2. */
    psql("CREATE TABLE verify_data AS SELECT g AS id, md5(g::text) AS label FROM generate_series(1, 700000) g",
         out, sizeof(out));
    psql("CREATE INDEX ON verify_data (label)", out, sizeof(out));
    psql("CREATE TABLE verify_spaced (id int, note text) TABLESPACE verify_space", out, sizeof(out));
    psql("INSERT INTO verify_spaced SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g", out, sizeof(out));
    psql("SELECT pg_relation_filepath('verify_data')", relation, sizeof(relation));

    /* -c fast: the default spread checkpoint makes pg_basebackup wait minutes. */
    snprintf(backup, sizeof(backup), "%s/bb", server.dir);
    char command[3 * PATH_MAX + 256];
    snprintf(command, sizeof(command),
             "'%s/pg_basebackup' -D '%s' -Fp -X stream -c fast --manifest-checksums=SHA256 "
             "-T '%s/tablespace=%s/bb_tablespace' -h 127.0.0.1 -p %d -U postgres",
             pg_fixture_bindir(), backup, server.dir, server.dir, server.port);
    if (run(command, out, sizeof(out)) != 0) {
        fprintf(stderr, "pg_basebackup failed: %s\n", out);
        return 1;
    }
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    pg_fixture_stop(&server);
    return 0;
}

/* A fresh copy of the backup to damage (the tablespace link still points to the shared copy). */
static const char *copy_backup(void)
{
    static char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s/copy%d", server.dir, ++copy_number);
    char command[2 * PATH_MAX + 32];
    snprintf(command, sizeof(command), "cp -a '%s' '%s'", backup, copy);
    CU_ASSERT_EQUAL_FATAL(run(command, NULL, 0), 0);
    return copy;
}

static pgb_verify_report *verify(const char *dir, const char *jobs)
{
    pgb_options *opts = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&opts, ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(opts, "jobs", jobs), PGB_OK);
    pgb_verify_report *report = NULL;
    int rc = pgb_verify_dir(&report, ctx, dir, opts);
    if (rc != PGB_OK)
        fprintf(stderr, "\npgb_verify_dir %s: %s\n", dir, pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    pgb_options_free(opts);
    return report;
}

static int pg_verifybackup(const char *dir, char *out, size_t size)
{
    char command[PATH_MAX + 1100];
    snprintf(command, sizeof(command), "'%s/pg_verifybackup' '%s'", pg_fixture_bindir(), dir);
    return run(command, out, size);
}

/* Exactly one problem, of this kind, naming this path. */
static void expect_one_problem(const char *dir, const char *kind, const char *path)
{
    pgb_verify_report *report = verify(dir, "3");
    CU_ASSERT_EQUAL(pgb_verify_report_ok(report), 0);
    CU_ASSERT_EQUAL(pgb_verify_report_problem_count(report), 1);
    const pgb_verify_finding *finding = NULL;
    while (pgb_verify_report_next(report, &finding) == PGB_OK) {
        fprintf(stderr, "\n  %s: %s ", pgb_verify_finding_kind(finding), pgb_verify_finding_message(finding));
        CU_ASSERT_STRING_EQUAL(pgb_verify_finding_kind(finding), kind);
        CU_ASSERT_STRING_EQUAL(pgb_verify_finding_path(finding), path);
        CU_ASSERT_PTR_NOT_NULL(strstr(pgb_verify_finding_message(finding), path));
    }
    pgb_verify_report_free(report);
    char out[4096];
    CU_ASSERT_EQUAL(pg_verifybackup(dir, out, sizeof(out)), 1);
}

static void test_pg_basebackup_copy_verifies_as_pg_verifybackup_says(void)
{
    pgb_verify_report *report = verify(backup, "4");
    CU_ASSERT_EQUAL(pgb_verify_report_ok(report), 1);
    CU_ASSERT_EQUAL(pgb_verify_report_problem_count(report), 0);
    json_t *doc = json_loads(pgb_verify_report_to_json(report), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT(json_is_true(json_object_get(doc, "ok")));
    CU_ASSERT(json_integer_value(json_object_get(doc, "files_checked")) > 900);
    CU_ASSERT(json_integer_value(json_object_get(doc, "bytes_checked")) > 3 * 1024 * 1024);
    json_decref(doc);
    pgb_verify_report_free(report);

    char out[4096];
    CU_ASSERT_EQUAL(pg_verifybackup(backup, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "backup successfully verified"));
}

static void test_flipped_byte_is_one_checksum_problem(void)
{
    const char *dir = copy_backup();
    char path[PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", dir, relation);
    int fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    unsigned char byte = 0;
    CU_ASSERT_EQUAL(pread(fd, &byte, 1, 8192 + 300), 1);
    byte ^= 0x01;
    CU_ASSERT_EQUAL(pwrite(fd, &byte, 1, 8192 + 300), 1);
    close(fd);
    expect_one_problem(dir, "checksum", relation);
}

static void test_deleted_file_is_missing(void)
{
    const char *dir = copy_backup();
    char path[PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", dir, relation);
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
    expect_one_problem(dir, "missing", relation);
}

static void test_added_file_is_extra(void)
{
    const char *dir = copy_backup();
    char path[PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/base/1/99999", dir);
    FILE *file = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(file);
    fputs("not from the server", file);
    fclose(file);
    expect_one_problem(dir, "extra", "base/1/99999");
}

static void test_truncated_file_is_size(void)
{
    const char *dir = copy_backup();
    char path[PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", dir, relation);
    CU_ASSERT_EQUAL_FATAL(truncate(path, 8192), 0);
    expect_one_problem(dir, "size", relation);
}

static void test_removed_wal_segment_is_wal_missing(void)
{
    const char *dir = copy_backup();
    char wal_dir[PATH_MAX + 16], first[64] = "";
    snprintf(wal_dir, sizeof(wal_dir), "%s/pg_wal", dir);
    struct dirent **entries = NULL;
    int count = scandir(wal_dir, &entries, NULL, alphasort);
    for (int i = 0; i < count; i++) {
        if (!first[0] && strlen(entries[i]->d_name) == 24)
            memcpy(first, entries[i]->d_name, 25); /* 24 characters and the NUL */
        free(entries[i]);
    }
    free(entries);
    CU_ASSERT_FATAL(first[0] != '\0');
    char path[PATH_MAX + 100], relative[100];
    snprintf(path, sizeof(path), "%s/%s", wal_dir, first);
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
    snprintf(relative, sizeof(relative), "pg_wal/%s", first);
    expect_one_problem(dir, "wal-missing", relative);
}

/* The CLI beside this test program in the build tree (PGB_TEST_CLI overrides). */
static int find_cli(char *cli, size_t size)
{
    const char *given = getenv("PGB_TEST_CLI");
    if (given && *given) {
        snprintf(cli, size, "%s", given);
        return access(cli, X_OK) == 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 0;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(cli, size, "%s/../examples/pgbackup", self);
    return access(cli, X_OK) == 0;
}

static void test_cli_exits_0_then_3_after_damage(void)
{
    char cli[PATH_MAX + 32], command[3 * PATH_MAX], out[65536];
    if (!find_cli(cli, sizeof(cli))) {
        CU_FAIL("the pgbackup CLI was not found beside the tests (set PGB_TEST_CLI)");
        return;
    }
    snprintf(command, sizeof(command), "'%s' verify-dir '%s'", cli, backup);
    CU_ASSERT_EQUAL(run(command, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "backup successfully verified"));
    snprintf(command, sizeof(command), "'%s' verify-dir --jobs 2 --json '%s'", cli, backup);
    CU_ASSERT_EQUAL(run(command, out, sizeof(out)), 0);
    json_t *doc = json_loads(out, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT(json_is_true(json_object_get(doc, "ok")));
    json_decref(doc);

    const char *dir = copy_backup();
    char path[PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", dir, relation);
    CU_ASSERT_EQUAL_FATAL(truncate(path, 100), 0);
    snprintf(command, sizeof(command), "'%s' verify-dir '%s'", cli, dir);
    CU_ASSERT_EQUAL(run(command, out, sizeof(out)), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "has size 100 on disk"));
    snprintf(command, sizeof(command), "'%s' --json verify-dir '%s' 2>/dev/null", cli, dir);
    CU_ASSERT_EQUAL(run(command, out, sizeof(out)), 3);
    json_error_t error;
    doc = json_loads(out, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT(json_is_false(json_object_get(doc, "ok")));
    json_t *problem = json_array_get(json_object_get(doc, "problems"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(problem, "kind")), "size");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(problem, "path")), relation);
    json_decref(doc);

    /* A damaged manifest is damage too; no directory at all is a failure; no DIR is usage. */
    snprintf(path, sizeof(path), "%s/backup_manifest", dir);
    CU_ASSERT_EQUAL_FATAL(truncate(path, 500), 0);
    snprintf(command, sizeof(command), "'%s' verify-dir '%s'", cli, dir);
    CU_ASSERT_EQUAL(run(command, out, sizeof(out)), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "backup_manifest"));
    snprintf(command, sizeof(command), "'%s' verify-dir '%s/nonexistent'", cli, server.dir);
    CU_ASSERT_EQUAL(run(command, out, sizeof(out)), 1);
    snprintf(command, sizeof(command), "'%s' verify-dir", cli);
    CU_ASSERT_EQUAL(run(command, out, sizeof(out)), 2);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Not a test: prints both times on the same copy, for the record. */
static void test_timing_against_pg_verifybackup(void)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pgb_verify_report *report = verify(backup, "2");
    double ours = seconds_since(&start);
    pgb_verify_report_free(report);
    clock_gettime(CLOCK_MONOTONIC, &start);
    char out[4096];
    CU_ASSERT_EQUAL(pg_verifybackup(backup, out, sizeof(out)), 0);
    double theirs = seconds_since(&start);
    fprintf(stderr, "\n  pgb_verify_dir (jobs 2): %.3f s; pg_verifybackup: %.3f s (not a test) ", ours, theirs);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"pg_basebackup_copy_verifies_as_pg_verifybackup_says", test_pg_basebackup_copy_verifies_as_pg_verifybackup_says},
        {"flipped_byte_is_one_checksum_problem", test_flipped_byte_is_one_checksum_problem},
        {"deleted_file_is_missing", test_deleted_file_is_missing},
        {"added_file_is_extra", test_added_file_is_extra},
        {"truncated_file_is_size", test_truncated_file_is_size},
        {"removed_wal_segment_is_wal_missing", test_removed_wal_segment_is_wal_missing},
        {"cli_exits_0_then_3_after_damage", test_cli_exits_0_then_3_after_damage},
        {"timing_against_pg_verifybackup", test_timing_against_pg_verifybackup},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"verify_dir", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
