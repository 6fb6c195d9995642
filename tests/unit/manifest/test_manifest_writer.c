/*
 * Writing backup manifests: for a known input the bytes are those the server
 * writes (backup_manifest.c's layout, written out by hand here), non-UTF-8
 * names go out as Encoded-Path, and what is written parses back to the same
 * files and WAL ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/sha.h>

#include <pgbackup/pgbackup.h>

#include "core/hex.h"
#include "manifest/manifest.h"
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

struct sample_file {
    const char *path;
    uint64_t size;
    time_t mtime;
    enum pgb_checksum_type type;
    const char *checksum_hex;
};

/* 1714644672 is 2024-05-02 10:11:12 UTC. */
static const struct sample_file samples[] = {
    {"backup_label", 225, 1714644672, PGB_CHECKSUM_CRC32C, "839206e3"},
    {"base/1/1259", 106496, 1714644673, PGB_CHECKSUM_SHA256,
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"pg_tblspc/16385/PG_15_202209061/16386/16387", 0, 1714644674, PGB_CHECKSUM_NONE, NULL},
    {"base/caf\xe9", 4, 0, PGB_CHECKSUM_CRC32C, "00000000"},
    {"odd \"name\"\\with\ttab\x01 and \xc3\xa9", 7, 1714644675, PGB_CHECKSUM_SHA224,
     "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
};
enum { SAMPLE_COUNT = sizeof(samples) / sizeof(samples[0]) };

/* What the server would write for samples: one line per file, checksum over all but the last line. */
static const char expected_body[] =
    "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n"
    "\"Files\": [\n"
    "{ \"Path\": \"backup_label\", \"Size\": 225, \"Last-Modified\": \"2024-05-02 10:11:12 GMT\", "
    "\"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"839206e3\" },\n"
    "{ \"Path\": \"base/1/1259\", \"Size\": 106496, \"Last-Modified\": \"2024-05-02 10:11:13 GMT\", "
    "\"Checksum-Algorithm\": \"SHA256\", \"Checksum\": "
    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\" },\n"
    "{ \"Path\": \"pg_tblspc/16385/PG_15_202209061/16386/16387\", \"Size\": 0, "
    "\"Last-Modified\": \"2024-05-02 10:11:14 GMT\" },\n"
    "{ \"Encoded-Path\": \"626173652f636166e9\", \"Size\": 4, \"Last-Modified\": \"1970-01-01 00:00:00 GMT\", "
    "\"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"00000000\" },\n"
    "{ \"Path\": \"odd \\\"name\\\"\\\\with\\ttab\\u0001 and \xc3\xa9\", \"Size\": 7, "
    "\"Last-Modified\": \"2024-05-02 10:11:15 GMT\", \"Checksum-Algorithm\": \"SHA224\", "
    "\"Checksum\": \"23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7\" }\n"
    "],\n"
    "\"WAL-Ranges\": [\n"
    "{ \"Timeline\": 2, \"Start-LSN\": \"1/AB000000\", \"End-LSN\": \"1/AB0001F0\" },\n"
    "{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"1/AB000000\" }\n"
    "],\n";

static int write_samples(int version, char **text, size_t *size)
{
    struct pgb_manifest_writer *writer = NULL;
    int rc = pgb_manifest_writer_new(ctx, version, UINT64_C(7364251539123456789), &writer);
    for (int i = 0; rc == PGB_OK && i < SAMPLE_COUNT; i++) {
        uint8_t checksum[PGB_CHECKSUM_MAX_SIZE];
        size_t length = pgb_checksum_type_size(samples[i].type);
        if (length)
            CU_ASSERT_EQUAL_FATAL(pgb_hex_decode(ctx, samples[i].checksum_hex, checksum, length), PGB_OK);
        rc = pgb_manifest_writer_add_file(writer, samples[i].path, samples[i].size, samples[i].mtime,
                                          samples[i].type, length ? checksum : NULL);
    }
    if (rc == PGB_OK)
        rc = pgb_manifest_writer_add_wal_range(writer, 2, UINT64_C(0x1AB000000), UINT64_C(0x1AB0001F0));
    if (rc == PGB_OK)
        rc = pgb_manifest_writer_add_wal_range(writer, 1, 0x2000028, UINT64_C(0x1AB000000));
    if (rc == PGB_OK)
        rc = pgb_manifest_writer_finish(writer, text, size);
    pgb_manifest_writer_free(writer);
    return rc;
}

static void test_writes_the_servers_bytes_for_a_known_input(void)
{
    char *text = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL(write_samples(1, &text, &size), PGB_OK);

    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)expected_body, strlen(expected_body), digest);
    char hex[65], expected[sizeof(expected_body) + 128];
    pgb_hex_encode(digest, sizeof(digest), hex);
    snprintf(expected, sizeof(expected), "%s\"Manifest-Checksum\": \"%s\"}\n", expected_body, hex);
    CU_ASSERT_EQUAL(size, strlen(expected));
    CU_ASSERT_EQUAL(strlen(text), size);
    if (strcmp(text, expected) != 0) {
        fprintf(stderr, "\n--- written:\n%s--- expected:\n%s", text, expected);
        CU_FAIL("the manifest differs from the server's layout");
    }
    free(text);
}

static void test_version_2_has_system_identifier_on_line_2(void)
{
    char *text = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL(write_samples(2, &text, &size), PGB_OK);
    CU_ASSERT(strncmp(text, "{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n\"System-Identifier\": 7364251539123456789,\n"
                            "\"Files\": [\n{ \"Path\": \"backup_label\", ",
                      strlen("{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n\"System-Identifier\": "
                             "7364251539123456789,\n\"Files\": [\n{ \"Path\": \"backup_label\", ")) == 0);
    struct pgb_manifest *manifest = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_parse(ctx, "v2", text, size, &manifest), PGB_OK);
    CU_ASSERT_EQUAL(pgb_manifest_version(manifest), 2);
    CU_ASSERT_EQUAL(pgb_manifest_system_identifier(manifest), UINT64_C(7364251539123456789));
    pgb_manifest_free(manifest);
    free(text);
}

static void test_written_manifest_parses_back_to_its_input(void)
{
    char *text = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL(write_samples(1, &text, &size), PGB_OK);
    struct pgb_manifest *manifest = NULL;
    int rc = pgb_manifest_parse(ctx, "written", text, size, &manifest);
    if (rc != PGB_OK)
        fprintf(stderr, "\n%s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_file_count(manifest), SAMPLE_COUNT);
    for (int i = 0; i < SAMPLE_COUNT; i++) {
        const struct pgb_manifest_file *file = pgb_manifest_file_at(manifest, (size_t)i);
        CU_ASSERT_STRING_EQUAL(file->path, samples[i].path);
        CU_ASSERT_PTR_EQUAL(pgb_manifest_find(manifest, samples[i].path), file);
        CU_ASSERT_EQUAL(file->size, samples[i].size);
        CU_ASSERT_EQUAL(file->mtime, samples[i].mtime);
        CU_ASSERT_EQUAL(file->checksum_type, samples[i].type);
        char hex[2 * PGB_CHECKSUM_MAX_SIZE + 1];
        pgb_hex_encode(file->checksum, file->checksum_size, hex);
        CU_ASSERT_STRING_EQUAL(hex, samples[i].checksum_hex ? samples[i].checksum_hex : "");
    }
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_wal_range_count(manifest), 2);
    CU_ASSERT_EQUAL(pgb_manifest_wal_range_at(manifest, 0)->timeline, 2);
    CU_ASSERT_EQUAL(pgb_manifest_wal_range_at(manifest, 0)->end_lsn, UINT64_C(0x1AB0001F0));
    CU_ASSERT_EQUAL(pgb_manifest_wal_range_at(manifest, 1)->start_lsn, 0x2000028);
    pgb_manifest_free(manifest);
    free(text);
}

static void test_writer_refuses_what_the_server_never_writes(void)
{
    struct pgb_manifest_writer *writer = NULL;
    CU_ASSERT_EQUAL(pgb_manifest_writer_new(ctx, 3, 0, &writer), PGB_EINVALID);
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_new(ctx, 1, 0, &writer), PGB_OK);
    CU_ASSERT_EQUAL(pgb_manifest_writer_add_file(writer, "../x", 1, 0, PGB_CHECKSUM_NONE, NULL), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_manifest_writer_add_file(writer, "x", 1, 0, PGB_CHECKSUM_SHA256, NULL), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_manifest_writer_add_wal_range(writer, 1, 10, 5), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_manifest_writer_add_wal_range(writer, 1, 5, 10), PGB_OK);
    CU_ASSERT_EQUAL(pgb_manifest_writer_add_file(writer, "late", 1, 0, PGB_CHECKSUM_NONE, NULL), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "files must come before WAL ranges"));
    char *text = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL(pgb_manifest_writer_finish(writer, &text, &size), PGB_OK);
    /* No file at all: the lists are still closed the way the server closes them. */
    static const char start[] = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n],\n\"WAL-Ranges\": [\n"
                                "{ \"Timeline\": 1, \"Start-LSN\": \"0/5\", \"End-LSN\": \"0/A\" }\n],\n"
                                "\"Manifest-Checksum\": \"";
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(strncmp(text, start, strlen(start)) == 0);
    CU_ASSERT_EQUAL(size, strlen(start) + 64 + 3);
    char *again = NULL;
    size_t again_size = 0;
    CU_ASSERT_EQUAL(pgb_manifest_writer_finish(writer, &again, &again_size), PGB_EINVALID);
    CU_ASSERT_PTR_NULL(again);
    struct pgb_manifest *manifest = NULL;
    CU_ASSERT_EQUAL(pgb_manifest_parse(ctx, "empty", text, size, &manifest), PGB_OK);
    pgb_manifest_free(manifest);
    pgb_manifest_writer_free(writer);
    free(text);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"writes_the_servers_bytes_for_a_known_input", test_writes_the_servers_bytes_for_a_known_input},
        {"version_2_has_system_identifier_on_line_2", test_version_2_has_system_identifier_on_line_2},
        {"written_manifest_parses_back_to_its_input", test_written_manifest_parses_back_to_its_input},
        {"writer_refuses_what_the_server_never_writes", test_writer_refuses_what_the_server_never_writes},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"manifest_writer", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
