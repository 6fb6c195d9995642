/*
 * The manifest writer against a real PostgreSQL 15 server (a unit test of
 * internal code that needs the server's own output to compare with):
 * - the server's backup_manifest, read and written again entry by entry, comes
 *   out byte for byte the same, odd file names (Encoded-Path, escapes) included;
 * - a manifest we write for a pg_basebackup copy by walking it (SHA-256, the
 *   server's WAL ranges) is accepted by the real pg_verifybackup, which then
 *   rejects the copy once a byte of a file changes.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "backup_tree.h"
#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;
static pgb_ctx *ctx;
static char backup[PATH_MAX];
static char relation[256];

static int setup(void)
{
    static const char *const settings[] = {"max_wal_senders = 4", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    char out[4096];
    pg_fixture_psql(&server, "CREATE TABLE writer_data AS SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
                    out, sizeof(out));
    pg_fixture_psql(&server, "SELECT pg_relation_filepath('writer_data')", relation, sizeof(relation));
    /* Names the server must escape or hex-encode: pg_basebackup sends unknown files too. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/odd \"name\"\\with\ttab", server.datadir);
    FILE *file = fopen(path, "w");
    if (file)
        fclose(file);
    snprintf(path, sizeof(path), "%s/latin1 caf\xe9", server.datadir);
    if ((file = fopen(path, "w")))
        fclose(file);

    snprintf(backup, sizeof(backup), "%s/bb", server.dir);
    char command[2 * PATH_MAX];
    snprintf(command, sizeof(command),
             "'%s/pg_basebackup' -D '%s' -Fp -X stream -c fast -h 127.0.0.1 -p %d -U postgres", pg_fixture_bindir(),
             backup, server.port);
    if (tree_run(command, out, sizeof(out)) != 0) {
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

static char *read_whole(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(file);
    struct stat st;
    fstat(fileno(file), &st);
    char *data = malloc((size_t)st.st_size + 1);
    *size = fread(data, 1, (size_t)st.st_size, file);
    data[*size] = '\0';
    fclose(file);
    return data;
}

static void test_server_manifest_written_again_is_byte_identical(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/backup_manifest", backup);
    size_t original_size = 0;
    char *original = read_whole(path, &original_size);
    CU_ASSERT_PTR_NOT_NULL(strstr(original, "\"Encoded-Path\": \""));
    CU_ASSERT_PTR_NOT_NULL(strstr(original, "\"Path\": \"odd \\\"name\\\"\\\\with\\ttab\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(original, "\"Checksum-Algorithm\": \"CRC32C\""));

    struct pgb_manifest *manifest = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_parse(ctx, path, original, original_size, &manifest), PGB_OK);
    CU_ASSERT_PTR_NOT_NULL(pgb_manifest_find(manifest, "latin1 caf\xe9"));
    struct pgb_manifest_writer *writer = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_new(ctx, pgb_manifest_version(manifest),
                                                  pgb_manifest_system_identifier(manifest), &writer),
                          PGB_OK);
    for (size_t i = 0; i < pgb_manifest_file_count(manifest); i++) {
        const struct pgb_manifest_file *file = pgb_manifest_file_at(manifest, i);
        CU_ASSERT_EQUAL(pgb_manifest_writer_add_file(writer, file->path, file->size, file->mtime,
                                                     file->checksum_type, file->checksum),
                        PGB_OK);
    }
    for (size_t i = 0; i < pgb_manifest_wal_range_count(manifest); i++) {
        const struct pgb_manifest_wal_range *range = pgb_manifest_wal_range_at(manifest, i);
        CU_ASSERT_EQUAL(pgb_manifest_writer_add_wal_range(writer, range->timeline, range->start_lsn, range->end_lsn),
                        PGB_OK);
    }
    char *written = NULL;
    size_t written_size = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_finish(writer, &written, &written_size), PGB_OK);
    CU_ASSERT_EQUAL(written_size, original_size);
    if (written_size != original_size || memcmp(written, original, original_size) != 0) {
        size_t at = 0;
        while (at < written_size && at < original_size && written[at] == original[at])
            at++;
        fprintf(stderr, "\nfirst difference at byte %zu:\n server: %.120s\n ours:   %.120s\n", at, original + at,
                written + at);
        CU_FAIL("our manifest differs from the server's");
    }
    free(written);
    pgb_manifest_writer_free(writer);
    pgb_manifest_free(manifest);
    free(original);
}

static int pg_verifybackup(const char *options, char *out, size_t size)
{
    char command[2 * PATH_MAX];
    snprintf(command, sizeof(command), "'%s/pg_verifybackup' %s '%s'", pg_fixture_bindir(), options, backup);
    return tree_run(command, out, size);
}

static void test_our_manifest_of_the_copy_is_accepted_by_pg_verifybackup(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/backup_manifest", backup);
    struct pgb_manifest *server_manifest = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_read_file(ctx, path, &server_manifest), PGB_OK);

    struct pgb_manifest_writer *writer = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_new(ctx, 1, 0, &writer), PGB_OK);
    tree_add_files(writer, backup, "", PGB_CHECKSUM_SHA256);
    for (size_t i = 0; i < pgb_manifest_wal_range_count(server_manifest); i++) {
        const struct pgb_manifest_wal_range *range = pgb_manifest_wal_range_at(server_manifest, i);
        CU_ASSERT_EQUAL(pgb_manifest_writer_add_wal_range(writer, range->timeline, range->start_lsn, range->end_lsn),
                        PGB_OK);
    }
    char *text = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_finish(writer, &text, &size), PGB_OK);
    pgb_manifest_writer_free(writer);
    pgb_manifest_free(server_manifest);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"Checksum-Algorithm\": \"SHA256\""));
    CU_ASSERT_PTR_NULL(strstr(text, "\"CRC32C\""));
    tree_write(backup, "backup_manifest", text, size);
    free(text);

    char out[8192];
    int status = pg_verifybackup("-n", out, sizeof(out));
    if (status != 0)
        fprintf(stderr, "\npg_verifybackup -n: %s\n", out);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "backup successfully verified"));
    /* The WAL ranges are the server's, so pg_waldump's parse passes too. */
    CU_ASSERT_EQUAL(pg_verifybackup("", out, sizeof(out)), 0);

    pgb_verify_report *report = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_verify_dir(&report, ctx, backup, NULL), PGB_OK);
    CU_ASSERT_EQUAL(pgb_verify_report_ok(report), 1);
    pgb_verify_report_free(report);

    tree_flip_byte(backup, relation, 8192 + 100);
    CU_ASSERT_EQUAL(pg_verifybackup("-n", out, sizeof(out)), 1);
    char expected[300];
    snprintf(expected, sizeof(expected), "checksum mismatch for file \"%s\"", relation);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, expected));
    CU_ASSERT_EQUAL_FATAL(pgb_verify_dir(&report, ctx, backup, NULL), PGB_OK);
    CU_ASSERT_EQUAL(pgb_verify_report_problem_count(report), 1);
    pgb_verify_report_free(report);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"server_manifest_written_again_is_byte_identical", test_server_manifest_written_again_is_byte_identical},
        {"our_manifest_of_the_copy_is_accepted_by_pg_verifybackup",
         test_our_manifest_of_the_copy_is_accepted_by_pg_verifybackup},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"manifest_writer_pg", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
