/*
 * Archived WAL files: which names are WAL files and of which kind, and
 * whether a file named as a segment is one (long page header, size, magic,
 * position), with messages that say which file and what is wrong.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pg/lsn.h"
#include "test_main.h"
#include "wal/wal_file.h"

#define MiB (UINT64_C(1) << 20)

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

/* The first bytes of a segment as PostgreSQL 15 writes them: a long page header. */
static void long_header(uint8_t header[PGB_WAL_LONG_HEADER_SIZE], uint16_t magic, uint64_t pageaddr,
                        uint32_t segment_size)
{
    memset(header, 0, PGB_WAL_LONG_HEADER_SIZE);
    uint16_t info = 0x0002; /* XLP_LONG_HEADER */
    uint32_t timeline = 1, block_size = 8192;
    uint64_t system_id = UINT64_C(7300000000000000001);
    memcpy(header + 0, &magic, 2);
    memcpy(header + 2, &info, 2);
    memcpy(header + 4, &timeline, 4);
    memcpy(header + 8, &pageaddr, 8);
    memcpy(header + 24, &system_id, 8);
    memcpy(header + 32, &segment_size, 4);
    memcpy(header + 36, &block_size, 4);
}

static void test_names_are_classified_as_the_server_writes_them(void)
{
    int kind = 0;
    uint32_t timeline = 0;
    CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, NULL, "000000010000000A000000FF", &kind, &timeline), PGB_OK);
    CU_ASSERT_EQUAL(kind, PGB_WAL_FILE_SEGMENT);
    CU_ASSERT_EQUAL(timeline, 1);
    CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, NULL, "0000002A.history", &kind, &timeline), PGB_OK);
    CU_ASSERT_EQUAL(kind, PGB_WAL_FILE_HISTORY);
    CU_ASSERT_EQUAL(timeline, 42);
    CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, NULL, "000000030000000000000002.00000028.backup", &kind, &timeline),
                    PGB_OK);
    CU_ASSERT_EQUAL(kind, PGB_WAL_FILE_BACKUP_HISTORY);
    CU_ASSERT_EQUAL(timeline, 3);
    CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, NULL, "0000000100000000000000A1.partial", &kind, &timeline), PGB_OK);
    CU_ASSERT_EQUAL(kind, PGB_WAL_FILE_PARTIAL);
    CU_ASSERT_STRING_EQUAL(pgb_wal_file_kind_name(PGB_WAL_FILE_HISTORY), "timeline history file");
}

static void test_other_names_are_refused_naming_the_file(void)
{
    const char *bad[] = {"", "000000010000000A000000Fg", "000000010000000a000000ff", "000000010000000A000000F",
                         "000000010000000A000000FF0", "0000001.history", "00000001.History", "00000001.history.gz",
                         "000000010000000A000000FF.partial.gz", "000000010000000A000000FF.0000028.backup",
                         "000000010000000A000000FF.00000028.backups", "RECOVERYXLOG", "archive_status",
                         "000000010000000A000000FF.gz", NULL};
    int kind = 0;
    for (int i = 0; bad[i]; i++) {
        CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, "pg_wal/x", bad[i], &kind, NULL), PGB_EINVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_wal/x is not a WAL file"));
    }
    CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, NULL, "000000000000000A000000FF", &kind, NULL), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "timeline 0"));
    CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, NULL, "00000000.history", &kind, NULL), PGB_EINVALID);
    char long_name[80];
    memset(long_name, 'A', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    CU_ASSERT_EQUAL(pgb_wal_file_classify(ctx, NULL, long_name, &kind, NULL), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "longer than 64"));
}

static void test_a_real_segment_header_is_accepted(void)
{
    /* 16 MiB segments: 000000010000000A000000FF is segment 0xA * 256 + 0xFF. */
    uint8_t header[PGB_WAL_LONG_HEADER_SIZE];
    uint64_t segno = UINT64_C(0xA) * 256 + 0xFF;
    const uint16_t magics[] = {0xD106, 0xD10D, 0xD110, 0xD113, 0xD116};
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        long_header(header, magics[i], segno * 16 * MiB, 16 * MiB);
        CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "pg_wal/000000010000000A000000FF", "000000010000000A000000FF",
                                              header, sizeof(header), 16 * MiB),
                        PGB_OK);
    }
    /* 1 MiB segments: 4096 per "log" id. */
    long_header(header, 0xD110, (UINT64_C(3) * 4096 + 0x7FF) * MiB, (uint32_t)MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "x", "0000000200000003000007FF", header, sizeof(header), MiB),
                    PGB_OK);
}

static void test_a_segment_of_the_wrong_size_is_refused(void)
{
    uint8_t header[PGB_WAL_LONG_HEADER_SIZE];
    long_header(header, 0xD110, 16 * MiB, 16 * MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "pg_wal/000000010000000000000001", "000000010000000000000001", header,
                                          sizeof(header), 16 * MiB - 8192),
                    PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_wal/000000010000000000000001 is not a complete WAL "
                                                       "segment: it is 16769024 bytes long, but its header gives a "
                                                       "segment size of 16777216 bytes"));
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "short", "000000010000000000000001", header, 10, 10), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "too short"));
    /* A segment size that no server can have. */
    long_header(header, 0xD110, 3 * MiB, 3 * MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "odd", "000000010000000000000001", header, sizeof(header), 3 * MiB),
                    PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "not a power of two"));
}

static void test_a_segment_at_the_wrong_position_is_refused(void)
{
    /* The content of segment 1 under the name of segment 2: a copy under the wrong name. */
    uint8_t header[PGB_WAL_LONG_HEADER_SIZE];
    long_header(header, 0xD110, 1 * 16 * MiB, 16 * MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "pg_wal/000000010000000000000002", "000000010000000000000002", header,
                                          sizeof(header), 16 * MiB),
                    PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_wal/000000010000000000000002 is not the WAL segment its "
                                                       "name says: its first page is at 0/1000000 (xlp_pageaddr), "
                                                       "but segment 000000010000000000000002 begins at 0/2000000"));
    /* A name whose segment part cannot exist at the header's segment size (1 GiB: 4 per id). */
    long_header(header, 0xD110, 0, 1024 * (uint32_t)MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "big", "000000010000000000000010", header, sizeof(header), 1024 * MiB),
                    PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "cannot be a segment of 1073741824 bytes"));
}

static void test_a_segment_with_a_foreign_magic_is_refused(void)
{
    uint8_t header[PGB_WAL_LONG_HEADER_SIZE];
    long_header(header, 0xD101, 16 * MiB, 16 * MiB); /* PostgreSQL 12 */
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "pg_wal/000000010000000000000001", "000000010000000000000001", header,
                                          sizeof(header), 16 * MiB),
                    PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_wal/000000010000000000000001 is not a WAL segment: its "
                                                       "page magic 0xD101"));
    /* A short header on the first page is not the start of a segment. */
    long_header(header, 0xD110, 16 * MiB, 16 * MiB);
    header[2] = 0;
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "f", "000000010000000000000001", header, sizeof(header), 16 * MiB),
                    PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "no long header"));
    /* Text is not WAL. */
    const char text[] = "listen_addresses = '*'\nport = 5432\nshared_buffers = 1GB\n";
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "conf", "000000010000000000000001", (const uint8_t *)text,
                                          sizeof(text) - 1, sizeof(text) - 1),
                    PGB_ECORRUPT);
}

static void test_a_partial_segment_not_yet_written_is_accepted(void)
{
    uint8_t zeros[PGB_WAL_LONG_HEADER_SIZE] = {0};
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "p", "000000010000000000000001.partial", zeros, sizeof(zeros),
                                          16 * MiB),
                    PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "p", "000000010000000000000001.partial", zeros, sizeof(zeros), 5000),
                    PGB_ECORRUPT);
    /* A full segment of zeros is not a segment. */
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "z", "000000010000000000000001", zeros, sizeof(zeros), 16 * MiB),
                    PGB_ECORRUPT);
    /* A written partial is checked like a segment. */
    uint8_t header[PGB_WAL_LONG_HEADER_SIZE];
    long_header(header, 0xD110, 2 * 16 * MiB, 16 * MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_check(ctx, "p", "000000010000000000000001.partial", header, sizeof(header),
                                          16 * MiB),
                    PGB_ECORRUPT);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"names_are_classified_as_the_server_writes_them", test_names_are_classified_as_the_server_writes_them},
        {"other_names_are_refused_naming_the_file", test_other_names_are_refused_naming_the_file},
        {"a_real_segment_header_is_accepted", test_a_real_segment_header_is_accepted},
        {"a_segment_of_the_wrong_size_is_refused", test_a_segment_of_the_wrong_size_is_refused},
        {"a_segment_at_the_wrong_position_is_refused", test_a_segment_at_the_wrong_position_is_refused},
        {"a_segment_with_a_foreign_magic_is_refused", test_a_segment_with_a_foreign_magic_is_refused},
        {"a_partial_segment_not_yet_written_is_accepted", test_a_partial_segment_not_yet_written_is_accepted},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_file", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
