/*
 * SHA-256 stages and hex text: the digests are the standard ones, bytes pass
 * through unchanged, and a mismatch names the object and both digests.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/hex.h"
#include "pipeline/checksum.h"
#include "pipeline/stream.h"
#include "test_main.h"

static pgb_ctx *ctx;

static const char empty_sha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char abc_sha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
/* FIPS 180-2 appendix B.3: one million times 'a'. */
static const char million_a_sha256[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static int setup(void)
{
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

/* Hash data through a sha256 sink in front of a memory sink, chunk bytes per write. */
static void sink_digest(const uint8_t *data, size_t size, size_t chunk, char hex[65])
{
    pgb_sink *memory = NULL, *sha = NULL;
    CU_ASSERT_FATAL(pgb_memory_sink_new(ctx, &memory) == PGB_OK);
    CU_ASSERT_FATAL(pgb_sha256_sink_new(ctx, memory, &sha) == PGB_OK);
    for (size_t offset = 0; offset < size; offset += chunk)
        CU_ASSERT_EQUAL(
            pgb_sink_write(sha, data + offset, size - offset < chunk ? size - offset : chunk),
            PGB_OK);
    CU_ASSERT_EQUAL(pgb_sink_finish(sha), PGB_OK);
    uint8_t digest[PGB_SHA256_SIZE];
    CU_ASSERT_EQUAL(pgb_sha256_sink_digest(sha, digest), PGB_OK);
    pgb_hex_encode(digest, sizeof(digest), hex);
    CU_ASSERT_EQUAL(pgb_sha256_sink_bytes(sha), size);
    size_t passed = 0;
    const uint8_t *copy = pgb_memory_sink_data(memory, &passed);
    CU_ASSERT(passed == size && (size == 0 || memcmp(copy, data, size) == 0));
    pgb_sink_destroy(sha);
}

static void test_sink_gives_standard_digests(void)
{
    char hex[65];
    sink_digest((const uint8_t *)"", 0, 1, hex);
    CU_ASSERT_STRING_EQUAL(hex, empty_sha256);
    sink_digest((const uint8_t *)"abc", 3, 3, hex);
    CU_ASSERT_STRING_EQUAL(hex, abc_sha256);
    sink_digest((const uint8_t *)"abc", 3, 1, hex);
    CU_ASSERT_STRING_EQUAL(hex, abc_sha256);
    uint8_t *a = malloc(1000000);
    memset(a, 'a', 1000000);
    sink_digest(a, 1000000, 65537, hex);
    CU_ASSERT_STRING_EQUAL(hex, million_a_sha256);
    free(a);
}

static void test_sink_without_next_only_hashes(void)
{
    pgb_sink *sha = NULL;
    CU_ASSERT_FATAL(pgb_sha256_sink_new(ctx, NULL, &sha) == PGB_OK);
    uint8_t digest[PGB_SHA256_SIZE];
    CU_ASSERT_EQUAL(pgb_sha256_sink_digest(sha, digest), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "before the stream was finished"));
    CU_ASSERT_EQUAL(pgb_sink_write(sha, (const uint8_t *)"abc", 3), PGB_OK);
    CU_ASSERT_EQUAL(pgb_sink_finish(sha), PGB_OK);
    CU_ASSERT_EQUAL(pgb_sha256_sink_digest(sha, digest), PGB_OK);
    char hex[65];
    pgb_hex_encode(digest, sizeof(digest), hex);
    CU_ASSERT_STRING_EQUAL(hex, abc_sha256);
    CU_ASSERT_EQUAL(pgb_sink_write(sha, (const uint8_t *)"d", 1), PGB_EINVALID);
    pgb_sink_destroy(sha);
}

/* Read text through a sha256 source; returns the code of the read that hit the end. */
static int source_read(const char *text, const uint8_t *expected, const char *name, char hex[65],
                       char *copy)
{
    pgb_source *memory = NULL, *sha = NULL;
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, (const uint8_t *)text, strlen(text), &memory) ==
                    PGB_OK);
    CU_ASSERT_FATAL(pgb_sha256_source_new(ctx, memory, expected, name, &sha) == PGB_OK);
    uint8_t digest[PGB_SHA256_SIZE];
    CU_ASSERT_EQUAL(pgb_sha256_source_digest(sha, digest), PGB_EINVALID);
    size_t used = 0, got = 0;
    int rc;
    while ((rc = pgb_source_read(sha, (uint8_t *)copy + used, 2, &got)) == PGB_OK && got > 0)
        used += got;
    copy[used] = '\0';
    hex[0] = '\0';
    if (pgb_sha256_source_digest(sha, digest) == PGB_OK)
        pgb_hex_encode(digest, sizeof(digest), hex);
    if (rc != PGB_OK) {
        /* The failure stays: a later read cannot pass damaged data as good. */
        CU_ASSERT_EQUAL(pgb_source_read(sha, (uint8_t *)copy, 2, &got), rc);
        CU_ASSERT_EQUAL(got, 0);
    }
    pgb_source_destroy(sha);
    return rc;
}

static void test_source_passes_bytes_and_checks_digest(void)
{
    uint8_t expected[PGB_SHA256_SIZE];
    char hex[65], copy[16];
    CU_ASSERT_FATAL(pgb_hex_decode(ctx, abc_sha256, expected, sizeof(expected)) == PGB_OK);
    CU_ASSERT_EQUAL(source_read("abc", expected, "base/1/1259", hex, copy), PGB_OK);
    CU_ASSERT_STRING_EQUAL(copy, "abc");
    CU_ASSERT_STRING_EQUAL(hex, abc_sha256);
    CU_ASSERT_EQUAL(source_read("", NULL, NULL, hex, copy), PGB_OK);
    CU_ASSERT_STRING_EQUAL(hex, empty_sha256);
}

static void test_mismatch_names_the_object_and_both_digests(void)
{
    uint8_t expected[PGB_SHA256_SIZE];
    char hex[65], copy[16];
    CU_ASSERT_FATAL(pgb_hex_decode(ctx, abc_sha256, expected, sizeof(expected)) == PGB_OK);
    CU_ASSERT_EQUAL(source_read("abd", expected, "base/16384/2619", hex, copy), PGB_ECORRUPT);
    char message[256];
    snprintf(message, sizeof(message),
             "checksum mismatch in base/16384/2619: expected %s, found %s", abc_sha256, hex);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), message);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_ECORRUPT);
    CU_ASSERT_STRING_NOT_EQUAL(hex, abc_sha256);
    CU_ASSERT_EQUAL(source_read("", expected, "pg_wal/000000010000000000000001", hex, copy),
                    PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_wal/000000010000000000000001"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), empty_sha256));
}

static void test_hex_round_trips_and_rejects_bad_text(void)
{
    uint8_t bytes[4] = {0x00, 0x7f, 0xa5, 0xff}, back[4];
    char hex[9];
    pgb_hex_encode(bytes, 4, hex);
    CU_ASSERT_STRING_EQUAL(hex, "007fa5ff");
    CU_ASSERT_EQUAL(pgb_hex_decode(ctx, "007FA5ff", back, 4), PGB_OK);
    CU_ASSERT_EQUAL(memcmp(bytes, back, 4), 0);
    pgb_hex_encode(bytes, 0, hex);
    CU_ASSERT_STRING_EQUAL(hex, "");
    CU_ASSERT_EQUAL(pgb_hex_decode(ctx, "007fa5f", back, 4), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "'007fa5f'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "expected 8 digits"));
    CU_ASSERT_EQUAL(pgb_hex_decode(ctx, "007fa5fg", back, 4), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "position 7"));
    CU_ASSERT_EQUAL(pgb_hex_decode(ctx, "007fa5ff00", back, 4), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_hex_decode(ctx, NULL, back, 4), PGB_EINVALID);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"sink_gives_standard_digests", test_sink_gives_standard_digests},
        {"sink_without_next_only_hashes", test_sink_without_next_only_hashes},
        {"source_passes_bytes_and_checks_digest", test_source_passes_bytes_and_checks_digest},
        {"mismatch_names_the_object_and_both_digests",
         test_mismatch_names_the_object_and_both_digests},
        {"hex_round_trips_and_rejects_bad_text", test_hex_round_trips_and_rejects_bad_text},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"checksum", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
