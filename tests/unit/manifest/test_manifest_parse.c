/*
 * Reading backup manifests: hand-made manifests in the server's layout, with
 * their checksum computed here by OpenSSL, parse into the right files and WAL
 * ranges; damage and layouts PostgreSQL refuses fail with PGB_ECORRUPT naming
 * the manifest and what is wrong.
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

/* body + the checksum line PostgreSQL appends: SHA-256 of body, which ends with a newline. */
static char *with_checksum(const char *body)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)body, strlen(body), digest);
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    pgb_hex_encode(digest, sizeof(digest), hex);
    size_t size = strlen(body) + 128;
    char *text = malloc(size);
    snprintf(text, size, "%s\"Manifest-Checksum\": \"%s\"}\n", body, hex);
    return text;
}

static int parse_text(const char *text, struct pgb_manifest **manifest)
{
    return pgb_manifest_parse(ctx, "test/backup_manifest", text, strlen(text), manifest);
}

/* Parse body with its right checksum; the error message must contain expect when it fails. */
static int parse_body(const char *body, struct pgb_manifest **manifest)
{
    char *text = with_checksum(body);
    int rc = parse_text(text, manifest);
    free(text);
    return rc;
}

static void expect_corrupt(const char *body, const char *words)
{
    struct pgb_manifest *manifest = (struct pgb_manifest *)1;
    CU_ASSERT_EQUAL(parse_body(body, &manifest), PGB_ECORRUPT);
    CU_ASSERT_PTR_NULL(manifest);
    const char *message = pgb_ctx_errmsg(ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "backup manifest test/backup_manifest"));
    if (!strstr(message, words)) {
        fprintf(stderr, "\nmessage \"%s\" does not contain \"%s\"\n", message, words);
        CU_FAIL("message does not say what is wrong");
    }
}

static const char v1_body[] =
    "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n"
    "\"Files\": [\n"
    "{ \"Path\": \"backup_label\", \"Size\": 225, \"Last-Modified\": \"2024-05-02 10:11:12 GMT\", "
    "\"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"839206e3\" },\n"
    "{ \"Path\": \"base/1/1259\", \"Size\": 106496, \"Last-Modified\": \"2024-05-02 10:11:13 GMT\", "
    "\"Checksum-Algorithm\": \"SHA256\", \"Checksum\": "
    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\" },\n"
    "{ \"Path\": \"global/pg_control\", \"Size\": 8192, \"Last-Modified\": \"2024-05-02 10:11:14 GMT\" }\n"
    "],\n"
    "\"WAL-Ranges\": [\n"
    "{ \"Timeline\": 2, \"Start-LSN\": \"0/5000000\", \"End-LSN\": \"0/5000138\" },\n"
    "{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/5000000\" }\n"
    "],\n";

static void test_parses_files_and_wal_ranges_of_a_version_1_manifest(void)
{
    struct pgb_manifest *manifest = NULL;
    int rc = parse_body(v1_body, &manifest);
    if (rc != PGB_OK)
        fprintf(stderr, "\n%s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    CU_ASSERT_EQUAL(pgb_manifest_version(manifest), 1);
    CU_ASSERT_EQUAL(pgb_manifest_file_count(manifest), 3);

    const struct pgb_manifest_file *label = pgb_manifest_file_at(manifest, 0);
    CU_ASSERT_STRING_EQUAL(label->path, "backup_label");
    CU_ASSERT_EQUAL(label->size, 225);
    CU_ASSERT_EQUAL(label->mtime, 1714644672); /* 2024-05-02 10:11:12 UTC */
    CU_ASSERT_EQUAL(label->checksum_type, PGB_CHECKSUM_CRC32C);
    CU_ASSERT_EQUAL(label->checksum_size, 4);
    CU_ASSERT(memcmp(label->checksum, "\x83\x92\x06\xe3", 4) == 0);

    const struct pgb_manifest_file *catalog = pgb_manifest_find(manifest, "base/1/1259");
    CU_ASSERT_PTR_NOT_NULL_FATAL(catalog);
    CU_ASSERT_EQUAL(pgb_manifest_file_index(manifest, catalog), 1);
    CU_ASSERT_EQUAL(catalog->size, 106496);
    CU_ASSERT_EQUAL(catalog->checksum_type, PGB_CHECKSUM_SHA256);
    CU_ASSERT_EQUAL(catalog->checksum[0], 0xba);
    CU_ASSERT_EQUAL(catalog->checksum[31], 0xad);

    const struct pgb_manifest_file *control = pgb_manifest_find(manifest, "global/pg_control");
    CU_ASSERT_PTR_NOT_NULL_FATAL(control);
    CU_ASSERT_EQUAL(control->checksum_type, PGB_CHECKSUM_NONE);
    CU_ASSERT_EQUAL(control->checksum_size, 0);
    CU_ASSERT_PTR_NULL(pgb_manifest_find(manifest, "base/1"));
    CU_ASSERT_PTR_NULL(pgb_manifest_find(manifest, "zzz"));

    CU_ASSERT_EQUAL_FATAL(pgb_manifest_wal_range_count(manifest), 2);
    const struct pgb_manifest_wal_range *newest = pgb_manifest_wal_range_at(manifest, 0);
    CU_ASSERT_EQUAL(newest->timeline, 2);
    CU_ASSERT_EQUAL(newest->start_lsn, 0x5000000);
    CU_ASSERT_EQUAL(newest->end_lsn, 0x5000138);
    CU_ASSERT_EQUAL(pgb_manifest_wal_range_at(manifest, 1)->start_lsn, 0x2000028);
    CU_ASSERT_PTR_NULL(pgb_manifest_wal_range_at(manifest, 2));
    pgb_manifest_free(manifest);
}

static void test_parses_version_2_with_system_identifier(void)
{
    static const char body[] = "{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n"
                               "\"System-Identifier\": 7364251539123456789,\n"
                               "\"Files\": [\n"
                               "{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2024-05-02 10:11:12 GMT\" }\n"
                               "],\n"
                               "\"WAL-Ranges\": [\n"
                               "{ \"Timeline\": 1, \"Start-LSN\": \"1/AB000028\", \"End-LSN\": \"1/AB000100\" }\n"
                               "],\n";
    struct pgb_manifest *manifest = NULL;
    CU_ASSERT_EQUAL_FATAL(parse_body(body, &manifest), PGB_OK);
    CU_ASSERT_EQUAL(pgb_manifest_version(manifest), 2);
    CU_ASSERT_EQUAL(pgb_manifest_system_identifier(manifest), UINT64_C(7364251539123456789));
    CU_ASSERT_EQUAL(pgb_manifest_wal_range_at(manifest, 0)->start_lsn, UINT64_C(0x1AB000028));
    pgb_manifest_free(manifest);
}

static void test_wrong_manifest_checksum_is_corrupt(void)
{
    char *text = with_checksum(v1_body);
    /* One byte of a file's size changes: the JSON stays valid, the checksum does not match. */
    char *size = strstr(text, "\"Size\": 225");
    size[9] = '6';
    struct pgb_manifest *manifest = NULL;
    CU_ASSERT_EQUAL(parse_text(text, &manifest), PGB_ECORRUPT);
    CU_ASSERT_PTR_NULL(manifest);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "backup manifest test/backup_manifest: manifest checksum mismatch"));
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_ECORRUPT);
    free(text);
}

static void test_truncated_manifest_is_corrupt(void)
{
    char *text = with_checksum(v1_body);
    struct pgb_manifest *manifest = NULL;
    /* Without its final newline, as a copy cut short. */
    CU_ASSERT_EQUAL(pgb_manifest_parse(ctx, "cut", text, strlen(text) - 1, &manifest), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "last line not newline-terminated"));
    /* Cut in the middle of the file list. */
    CU_ASSERT_EQUAL(pgb_manifest_parse(ctx, "cut", text, 200, &manifest), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "backup manifest cut: "));
    CU_ASSERT_EQUAL(pgb_manifest_parse(ctx, "one line", "{}\n", 3, &manifest), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "expected at least 2 lines"));
    free(text);
}

static void test_duplicate_path_is_corrupt(void)
{
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n"
                   "\"Files\": [\n"
                   "{ \"Path\": \"base/1/1259\", \"Size\": 1, \"Last-Modified\": \"2024-05-02 10:11:12 GMT\" },\n"
                   "{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2024-05-02 10:11:12 GMT\" },\n"
                   "{ \"Encoded-Path\": \"626173652f312f31323539\", \"Size\": 2, \"Last-Modified\": \"2024-05-02 10:11:12 GMT\" }\n"
                   "],\n\"WAL-Ranges\": [\n],\n",
                   "duplicate path name \"base/1/1259\"");
}

static void test_encoded_path_gives_raw_bytes(void)
{
    /* "base/caf\xe9" is Latin-1, not UTF-8: the server hex-encodes it. */
    static const char body[] = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n"
                               "\"Files\": [\n"
                               "{ \"Encoded-Path\": \"626173652f636166e9\", \"Size\": 4, "
                               "\"Last-Modified\": \"2024-05-02 10:11:12 GMT\" },\n"
                               "{ \"Path\": \"tab\\there \\\"quoted\\\" \\u00e9\", \"Size\": 5, "
                               "\"Last-Modified\": \"2024-05-02 10:11:12 GMT\" }\n"
                               "],\n\"WAL-Ranges\": [\n],\n";
    struct pgb_manifest *manifest = NULL;
    CU_ASSERT_EQUAL_FATAL(parse_body(body, &manifest), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_manifest_file_at(manifest, 0)->path, "base/caf\xe9");
    CU_ASSERT_PTR_NOT_NULL(pgb_manifest_find(manifest, "base/caf\xe9"));
    CU_ASSERT_STRING_EQUAL(pgb_manifest_file_at(manifest, 1)->path, "tab\there \"quoted\" \xc3\xa9");
    pgb_manifest_free(manifest);

    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Encoded-Path\": \"62617\", \"Size\": 4 }\n],\n",
                   "could not decode file name");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Encoded-Path\": \"6100\", \"Size\": 4 }\n],\n",
                   "could not decode file name");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Path\": \"a\", \"Encoded-Path\": \"61\", \"Size\": 4 }\n],\n",
                   "both path name and encoded path name");
}

static void test_layouts_postgresql_refuses_are_corrupt(void)
{
    expect_corrupt("{ \"Files\": [\n],\n\"PostgreSQL-Backup-Manifest-Version\": 1,\n", "expected version indicator");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 3,\n\"Files\": [\n],\n", "unexpected manifest version");
    /* 13 to 16 refuse a System-Identifier in a version 1 manifest. */
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"System-Identifier\": 1,\n\"Files\": [\n],\n",
                   "unrecognized top-level field \"System-Identifier\"");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n\"Files\": [\n],\n", "expected system identifier");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Path\": \"a\", \"Size\": 4, \"Owner\": \"me\" }\n],\n",
                   "unexpected file field \"Owner\"");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n{ \"Path\": \"a\" }\n],\n",
                   "file \"a\": missing size");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Path\": \"a\", \"Size\": 4, \"Checksum-Algorithm\": \"SHA256\", \"Checksum\": \"abcd\" }\n],\n",
                   "invalid SHA256 checksum");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Path\": \"a\", \"Size\": 4, \"Checksum-Algorithm\": \"MD5\", \"Checksum\": \"abcd\" }\n],\n",
                   "unrecognized checksum algorithm \"MD5\"");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Path\": \"a\", \"Size\": 4, \"Checksum\": \"abcd\" }\n],\n",
                   "checksum without algorithm");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n],\n\"WAL-Ranges\": [\n"
                   "{ \"Timeline\": 1, \"Start-LSN\": \"0/ZZ\", \"End-LSN\": \"0/1\" }\n],\n",
                   "WAL range 1: could not parse Start-LSN");
    /* We open what a manifest names: paths that climb out of the backup are refused. */
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
                   "{ \"Path\": \"base/../../etc/passwd\", \"Size\": 4 }\n],\n",
                   "unsafe path name");
    expect_corrupt("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n{ \"Path\": \"/etc/passwd\", \"Size\": 4 }\n],\n",
                   "unsafe path name");
}

static void test_missing_or_misplaced_checksum_is_corrupt(void)
{
    struct pgb_manifest *manifest = NULL;
    static const char no_checksum[] = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n],\n"
                                      "\"WAL-Ranges\": [\n]}\n";
    CU_ASSERT_EQUAL(parse_text(no_checksum, &manifest), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "manifest has no checksum"));
    static const char not_last[] =
        "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Manifest-Checksum\": \"00\",\n\"Files\": [\n]}\n";
    CU_ASSERT_EQUAL(parse_text(not_last, &manifest), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "is not the last field"));
}

static void test_reading_a_missing_file_is_not_found(void)
{
    struct pgb_manifest *manifest = NULL;
    CU_ASSERT_EQUAL(pgb_manifest_read_file(ctx, "/nonexistent/backup_manifest", &manifest), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "/nonexistent/backup_manifest"));
}

static void test_lsn_text_is_parsed_strictly(void)
{
    uint64_t lsn = 0;
    CU_ASSERT_EQUAL(pgb_manifest_parse_lsn("16/B374D848", &lsn), 0);
    CU_ASSERT_EQUAL(lsn, UINT64_C(0x16B374D848));
    CU_ASSERT_EQUAL(pgb_manifest_parse_lsn("0/0", &lsn), 0);
    CU_ASSERT_EQUAL(lsn, 0);
    CU_ASSERT_EQUAL(pgb_manifest_parse_lsn("0/", &lsn), -1);
    CU_ASSERT_EQUAL(pgb_manifest_parse_lsn("/1", &lsn), -1);
    CU_ASSERT_EQUAL(pgb_manifest_parse_lsn("0/1 ", &lsn), -1);
    CU_ASSERT_EQUAL(pgb_manifest_parse_lsn("123456789/1", &lsn), -1);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"parses_files_and_wal_ranges_of_a_version_1_manifest", test_parses_files_and_wal_ranges_of_a_version_1_manifest},
        {"parses_version_2_with_system_identifier", test_parses_version_2_with_system_identifier},
        {"wrong_manifest_checksum_is_corrupt", test_wrong_manifest_checksum_is_corrupt},
        {"truncated_manifest_is_corrupt", test_truncated_manifest_is_corrupt},
        {"duplicate_path_is_corrupt", test_duplicate_path_is_corrupt},
        {"encoded_path_gives_raw_bytes", test_encoded_path_gives_raw_bytes},
        {"layouts_postgresql_refuses_are_corrupt", test_layouts_postgresql_refuses_are_corrupt},
        {"missing_or_misplaced_checksum_is_corrupt", test_missing_or_misplaced_checksum_is_corrupt},
        {"reading_a_missing_file_is_not_found", test_reading_a_missing_file_is_not_found},
        {"lsn_text_is_parsed_strictly", test_lsn_text_is_parsed_strictly},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"manifest_parse", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
