/*
 * pgb_verify_dir on small hand-made backup directories (no server): a sound
 * one verifies, every kind of damage is found and all of it at once, the
 * always-ignored paths are ignored, the report's iterator and JSON say the
 * same, and the real pg_verifybackup agrees with a manifest we write.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include <pgbackup/pgbackup.h>

#include "backup_tree.h"
#include "pg_fixture.h"
#include "test_main.h"

#define SEGMENT_SIZE (1024 * 1024) /* initdb --wal-segsize=1: read from the header */

static pgb_ctx *ctx;
static char work[256];
static int case_number;

static int setup(void)
{
    snprintf(work, sizeof(work), "%s/pgb-verify-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(work))
        return 1;
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    char command[512];
    snprintf(command, sizeof(command), "rm -rf '%s'", work);
    tree_run(command, NULL, 0);
    pgb_ctx_free(ctx);
    return 0;
}

/* A WAL segment with a long page header that says its size. */
static void write_segment(const char *root, const char *name, size_t size)
{
    unsigned char *data = calloc(1, size);
    uint16_t magic = 0xD110, info = 0x0002;
    uint32_t segment_size = SEGMENT_SIZE;
    memcpy(data, &magic, 2);
    memcpy(data + 2, &info, 2);
    memcpy(data + 32, &segment_size, 4);
    char relative[64];
    snprintf(relative, sizeof(relative), "pg_wal/%s", name);
    tree_write(root, relative, data, size);
    free(data);
}

/* Write root/backup_manifest with our writer from what is on disk now. */
static void write_manifest(const char *root, enum pgb_checksum_type type, int version, uint64_t system_identifier)
{
    struct pgb_manifest_writer *writer = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_new(ctx, version, system_identifier, &writer), PGB_OK);
    tree_add_files(writer, root, "", type);
    /* Segments 1 to 3 of 1 MiB on timeline 1. */
    CU_ASSERT_EQUAL(pgb_manifest_writer_add_wal_range(writer, 1, 0x100028, 0x300100), PGB_OK);
    char *text = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_finish(writer, &text, &size), PGB_OK);
    tree_write(root, "backup_manifest", text, size);
    free(text);
    pgb_manifest_writer_free(writer);
}

/* A new sound backup directory; returns its path (static buffer). */
static const char *make_backup(enum pgb_checksum_type type)
{
    static char root[512];
    snprintf(root, sizeof(root), "%s/backup%d", work, ++case_number);
    mkdir(root, 0700);
    tree_write(root, "PG_VERSION", "15\n", 3);
    tree_write(root, "backup_label", "START WAL LOCATION: 0/100028\n", 29);
    char relation[40000];
    for (size_t i = 0; i < sizeof(relation); i++)
        relation[i] = (char)(i * 7);
    tree_write(root, "base/5/16384", relation, sizeof(relation));
    tree_write(root, "base/5/16384_fsm", relation, 24576);
    tree_write(root, "base/5/empty", "", 0);
    uint64_t system_identifier = UINT64_C(7364251539123456789);
    char control[8192] = {0};
    memcpy(control, &system_identifier, sizeof(system_identifier));
    tree_write(root, "global/pg_control", control, sizeof(control));
    /* Ignored in both directions, whatever they hold. */
    tree_write(root, "postgresql.auto.conf", "# before\n", 9);
    write_segment(root, "000000010000000000000001", SEGMENT_SIZE);
    write_segment(root, "000000010000000000000002", SEGMENT_SIZE);
    write_segment(root, "000000010000000000000003", SEGMENT_SIZE);
    tree_make_parents(root, "pg_wal/archive_status/x");
    write_manifest(root, type, 1, system_identifier);
    return root;
}

static pgb_verify_report *verify(const char *root, const char *jobs)
{
    pgb_options *opts = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&opts, ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(opts, "jobs", jobs), PGB_OK);
    pgb_verify_report *report = NULL;
    int rc = pgb_verify_dir(&report, ctx, root, opts);
    if (rc != PGB_OK)
        fprintf(stderr, "\nverify %s: %s\n", root, pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    pgb_options_free(opts);
    return report;
}

static void test_sound_backup_verifies(void)
{
    const char *root = make_backup(PGB_CHECKSUM_CRC32C);
    pgb_verify_report *report = verify(root, "2");
    CU_ASSERT_EQUAL(pgb_verify_report_ok(report), 1);
    CU_ASSERT_EQUAL(pgb_verify_report_problem_count(report), 0);
    const pgb_verify_finding *finding = (const pgb_verify_finding *)1;
    CU_ASSERT_EQUAL(pgb_verify_report_next(report, &finding), PGB_ITEROVER);
    CU_ASSERT_PTR_NULL(finding);
    json_t *doc = json_loads(pgb_verify_report_to_json(report), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "format_version")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "directory")), root);
    CU_ASSERT(json_is_true(json_object_get(doc, "ok")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "files_checked")), 6);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "bytes_checked")), 3 + 29 + 40000 + 24576 + 8192);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "problems")), 0);
    json_decref(doc);
    pgb_verify_report_free(report);
}

struct expected_finding {
    const char *kind, *path, *words;
};

static void expect_findings(pgb_verify_report *report, const struct expected_finding *expected, size_t count)
{
    CU_ASSERT_EQUAL(pgb_verify_report_ok(report), 0);
    CU_ASSERT_EQUAL(pgb_verify_report_problem_count(report), count);
    const pgb_verify_finding *finding = NULL;
    for (size_t i = 0; i < count; i++) {
        CU_ASSERT_EQUAL_FATAL(pgb_verify_report_next(report, &finding), PGB_OK);
        const char *message = pgb_verify_finding_message(finding);
        if (strcmp(pgb_verify_finding_kind(finding), expected[i].kind) != 0 ||
            strcmp(pgb_verify_finding_path(finding), expected[i].path) != 0 || !strstr(message, expected[i].words)) {
            fprintf(stderr, "\nfinding %zu: %s %s \"%s\"; expected %s %s \"%s\"\n", i,
                    pgb_verify_finding_kind(finding), pgb_verify_finding_path(finding), message, expected[i].kind,
                    expected[i].path, expected[i].words);
            CU_FAIL("unexpected finding");
        }
    }
    CU_ASSERT_EQUAL(pgb_verify_report_next(report, &finding), PGB_ITEROVER);
    CU_ASSERT_EQUAL(pgb_verify_report_next(report, &finding), PGB_ITEROVER);
}

static void test_every_problem_is_reported_at_once(void)
{
    const char *root = make_backup(PGB_CHECKSUM_SHA256);
    char path[600];
    tree_flip_byte(root, "base/5/16384", 20000);
    tree_write(root, "base/5/16384_fsm", "short", 5);
    snprintf(path, sizeof(path), "%s/PG_VERSION", root);
    unlink(path);
    tree_write(root, "base/5/99999", "new", 3);
    snprintf(path, sizeof(path), "%s/pg_wal/000000010000000000000002", root);
    unlink(path);
    write_segment(root, "000000010000000000000003", SEGMENT_SIZE / 2);
    /* Never checked: */
    tree_write(root, "postgresql.auto.conf", "# changed after the backup\n", 27);
    tree_write(root, "recovery.signal", "", 0);
    tree_write(root, "standby.signal", "", 0);
    tree_write(root, "pg_wal/extra/file", "x", 1);

    static const struct expected_finding expected[] = {
        {"size", "base/5/16384_fsm", "has size 5 on disk but size 24576 in the manifest"},
        {"extra", "base/5/99999", "\"base/5/99999\" is present on disk but not in the manifest"},
        {"missing", "PG_VERSION", "\"PG_VERSION\" is present in the manifest but not on disk"},
        {"checksum", "base/5/16384", "checksum mismatch for file \"base/5/16384\""},
        {"wal-missing", "pg_wal/000000010000000000000002", "needed for timeline 1 (0/100028 to 0/300100) is missing"},
        {"wal-missing", "pg_wal/000000010000000000000003", "has size 524288, expected 1048576 bytes"},
    };
    for (int round = 0; round < 2; round++) {
        pgb_verify_report *report = verify(root, round == 0 ? "1" : "4");
        expect_findings(report, expected, sizeof(expected) / sizeof(expected[0]));
        json_t *doc = json_loads(pgb_verify_report_to_json(report), 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        CU_ASSERT(json_is_false(json_object_get(doc, "ok")));
        json_t *problems = json_object_get(doc, "problems");
        CU_ASSERT_EQUAL(json_array_size(problems), 6);
        json_t *first = json_array_get(problems, 1);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "kind")), "extra");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "path")), "base/5/99999");
        CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(first, "message")), "not in the manifest"));
        CU_ASSERT_PTR_NULL(json_object_get(first, "encoded_path"));
        /* All but PG_VERSION were found; 16384_fsm was not checksummed (wrong size). */
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "files_checked")), 5);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "bytes_checked")), 29 + 40000 + 8192);
        json_decref(doc);
        pgb_verify_report_free(report);
    }
}

static void test_non_utf8_name_is_reported_with_its_bytes(void)
{
    const char *root = make_backup(PGB_CHECKSUM_CRC32C);
    tree_write(root, "base/5/caf\xe9", "x", 1);
    pgb_verify_report *report = verify(root, "1");
    static const struct expected_finding expected[] = {
        {"extra", "base/5/caf\xe9", "present on disk but not in the manifest"}};
    expect_findings(report, expected, 1);
    json_error_t error;
    json_t *doc = json_loads(pgb_verify_report_to_json(report), 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *problem = json_array_get(json_object_get(doc, "problems"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(problem, "path")), "base/5/caf\xef\xbf\xbd");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(problem, "encoded_path")), "626173652f352f636166e9");
    json_decref(doc);
    pgb_verify_report_free(report);
}

static void test_system_identifier_of_version_2_is_checked(void)
{
    const char *root = make_backup(PGB_CHECKSUM_CRC32C);
    write_manifest(root, PGB_CHECKSUM_CRC32C, 2, 42);
    pgb_verify_report *report = verify(root, "1");
    static const struct expected_finding expected[] = {
        {"manifest", "global/pg_control", "manifest system identifier is 42, but control file has 7364251539123456789"}};
    expect_findings(report, expected, 1);
    pgb_verify_report_free(report);
}

static void test_unreadable_manifest_or_directory_fails_the_check(void)
{
    pgb_verify_report *report = (pgb_verify_report *)1;
    const char *root = make_backup(PGB_CHECKSUM_CRC32C);
    tree_flip_byte(root, "backup_manifest", 60);
    CU_ASSERT_EQUAL(pgb_verify_dir(&report, ctx, root, NULL), PGB_ECORRUPT);
    CU_ASSERT_PTR_NULL(report);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "/backup_manifest: "));

    char path[600];
    snprintf(path, sizeof(path), "%s/backup_manifest", root);
    unlink(path);
    CU_ASSERT_EQUAL(pgb_verify_dir(&report, ctx, root, NULL), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "has no backup_manifest"));

    snprintf(path, sizeof(path), "%s/nonexistent", work);
    CU_ASSERT_EQUAL(pgb_verify_dir(&report, ctx, path, NULL), PGB_ENOTFOUND);
    snprintf(path, sizeof(path), "%s/PG_VERSION", root);
    CU_ASSERT_EQUAL(pgb_verify_dir(&report, ctx, path, NULL), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_verify_dir(NULL, ctx, root, NULL), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_verify_dir(&report, NULL, root, NULL), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_verify_report_ok(NULL), 0);
    CU_ASSERT_PTR_NULL(pgb_verify_report_to_json(NULL));
    CU_ASSERT_PTR_NULL(pgb_verify_finding_kind(NULL));
    pgb_verify_report_free(NULL);
}

static void test_canceled_context_stops_the_check(void)
{
    const char *root = make_backup(PGB_CHECKSUM_SHA256);
    pgb_verify_report *report = NULL;
    pgb_ctx_cancel(ctx);
    CU_ASSERT_EQUAL(pgb_verify_dir(&report, ctx, root, NULL), PGB_ECANCELED);
    CU_ASSERT_PTR_NULL(report);
    pgb_ctx_reset_cancel(ctx);
}

/* The real pg_verifybackup, without WAL parsing (our segments are not real WAL). */
static int pg_verifybackup(const char *root, char *out, size_t size)
{
    char command[1024];
    snprintf(command, sizeof(command), "'%s/pg_verifybackup' -n '%s'", pg_fixture_bindir(), root);
    return tree_run(command, out, size);
}

static void test_real_pg_verifybackup_accepts_our_manifest(void)
{
    const enum pgb_checksum_type types[] = {PGB_CHECKSUM_CRC32C, PGB_CHECKSUM_SHA256, PGB_CHECKSUM_SHA512,
                                            PGB_CHECKSUM_NONE};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *root = make_backup(types[i]);
        /* A non-UTF-8 name goes out as Encoded-Path; pg_verifybackup must find it too. */
        tree_write(root, "base/5/caf\xe9", "latin-1", 7);
        write_manifest(root, types[i], 1, 0);
        char out[4096];
        int status = pg_verifybackup(root, out, sizeof(out));
        if (status != 0)
            fprintf(stderr, "\npg_verifybackup (%s): %s\n", pgb_checksum_type_name(types[i]), out);
        CU_ASSERT_EQUAL(status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "backup successfully verified"));
        if (types[i] == PGB_CHECKSUM_NONE)
            continue;
        tree_flip_byte(root, "base/5/caf\xe9", 0);
        CU_ASSERT_EQUAL(pg_verifybackup(root, out, sizeof(out)), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "checksum mismatch for file"));
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"sound_backup_verifies", test_sound_backup_verifies},
        {"every_problem_is_reported_at_once", test_every_problem_is_reported_at_once},
        {"non_utf8_name_is_reported_with_its_bytes", test_non_utf8_name_is_reported_with_its_bytes},
        {"system_identifier_of_version_2_is_checked", test_system_identifier_of_version_2_is_checked},
        {"unreadable_manifest_or_directory_fails_the_check", test_unreadable_manifest_or_directory_fails_the_check},
        {"canceled_context_stops_the_check", test_canceled_context_stops_the_check},
        {"real_pg_verifybackup_accepts_our_manifest", test_real_pg_verifybackup_accepts_our_manifest},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"verify_findings", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
