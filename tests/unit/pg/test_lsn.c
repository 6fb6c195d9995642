/*
 * LSN text and WAL segment names, checked against what PostgreSQL prints
 * (pg_walfile_name, pg_lsn output) for the same positions.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pg/lsn.h"
#include "test_main.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

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

static void test_lsn_parse_reads_postgres_text(void)
{
    uint64_t lsn = 0;
    CU_ASSERT_EQUAL(pgb_lsn_parse(ctx, "16/B374D848", &lsn), PGB_OK);
    CU_ASSERT_EQUAL(lsn, UINT64_C(0x16B374D848));
    CU_ASSERT_EQUAL(pgb_lsn_parse(ctx, "0/0", &lsn), PGB_OK);
    CU_ASSERT_EQUAL(lsn, 0);
    CU_ASSERT_EQUAL(pgb_lsn_parse(ctx, "FFFFFFFF/FFFFFFFF", &lsn), PGB_OK);
    CU_ASSERT_EQUAL(lsn, UINT64_MAX);
    /* pg_lsn_in takes lower case and leading zeros too. */
    CU_ASSERT_EQUAL(pgb_lsn_parse(ctx, "0/00000abc", &lsn), PGB_OK);
    CU_ASSERT_EQUAL(lsn, 0xABC);
}

static void test_lsn_parse_rejects_malformed_text(void)
{
    const char *bad[] = {"", "/", "0/", "/0", "16B374D848", "1/2/3", " 0/1", "0/1 ", "-1/0", "0x1/0",
                         "123456789/0", "0/123456789", "G/0", "0/+1", NULL};
    uint64_t lsn = 42;
    for (int i = 0; bad[i]; i++) {
        CU_ASSERT_EQUAL(pgb_lsn_parse(ctx, bad[i], &lsn), PGB_EINVALID);
        CU_ASSERT_EQUAL(lsn, 42);
    }
    CU_ASSERT_EQUAL(pgb_lsn_parse(ctx, "zz/1", &lsn), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "zz/1"));
    CU_ASSERT_EQUAL(pgb_lsn_parse(NULL, NULL, &lsn), PGB_EINVALID); /* no context: nothing recorded */
}

static void test_lsn_format_round_trips(void)
{
    char text[PGB_LSN_TEXT_SIZE];
    CU_ASSERT_STRING_EQUAL(pgb_lsn_format(UINT64_C(0x16B374D848), text), "16/B374D848");
    CU_ASSERT_STRING_EQUAL(pgb_lsn_format(0, text), "0/0");
    CU_ASSERT_STRING_EQUAL(pgb_lsn_format(0x2000028, text), "0/2000028");
    CU_ASSERT_STRING_EQUAL(pgb_lsn_format(UINT64_MAX, text), "FFFFFFFF/FFFFFFFF");
    uint64_t samples[] = {1, 0xFFFFFFFF, UINT64_C(0x100000000), UINT64_C(0xABCDEF0123456789), UINT64_MAX - 1};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        uint64_t back = 0;
        CU_ASSERT_EQUAL(pgb_lsn_parse(ctx, pgb_lsn_format(samples[i], text), &back), PGB_OK);
        CU_ASSERT_EQUAL(back, samples[i]);
    }
}

static void test_segment_names_of_16MiB_segments(void)
{
    char name[PGB_WAL_NAME_SIZE];
    uint64_t lsn;
    CU_ASSERT_EQUAL_FATAL(pgb_lsn_parse(ctx, "0/2000028", &lsn), PGB_OK);
    uint64_t segno = pgb_wal_segment_number(lsn, 16 * MiB);
    CU_ASSERT_EQUAL(segno, 2);
    CU_ASSERT_STRING_EQUAL(pgb_wal_segment_name(1, segno, 16 * MiB, name), "000000010000000000000002");
    /* pg_walfile_name('16/B374D848') on timeline 1 is 0000000100000016000000B3. */
    CU_ASSERT_EQUAL_FATAL(pgb_lsn_parse(ctx, "16/B374D848", &lsn), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_wal_segment_name(1, pgb_wal_segment_number(lsn, 16 * MiB), 16 * MiB, name),
                           "0000000100000016000000B3");
    CU_ASSERT_STRING_EQUAL(pgb_wal_segment_name(0x1A, 0xFF, 16 * MiB, name), "0000001A00000000000000FF");
    CU_ASSERT_STRING_EQUAL(pgb_wal_segment_name(0x1A, 0x100, 16 * MiB, name), "0000001A0000000100000000");
    CU_ASSERT_EQUAL(pgb_wal_segment_start(2, 16 * MiB), 0x2000000);
}

static void test_segment_names_of_1GiB_segments(void)
{
    char name[PGB_WAL_NAME_SIZE];
    /* Four 1 GiB segments per 4 GiB "log": the last part only runs 0 to 3. */
    CU_ASSERT_STRING_EQUAL(pgb_wal_segment_name(1, 3, GiB, name), "000000010000000000000003");
    CU_ASSERT_STRING_EQUAL(pgb_wal_segment_name(1, 4, GiB, name), "000000010000000100000000");
    uint64_t lsn;
    CU_ASSERT_EQUAL_FATAL(pgb_lsn_parse(ctx, "16/B374D848", &lsn), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_wal_segment_name(2, pgb_wal_segment_number(lsn, GiB), GiB, name),
                           "000000020000001600000002");
    uint32_t tli;
    uint64_t segno;
    CU_ASSERT_EQUAL(pgb_wal_segment_name_parse(ctx, "000000020000001600000002", GiB, &tli, &segno), PGB_OK);
    CU_ASSERT_EQUAL(tli, 2);
    CU_ASSERT_EQUAL(segno, 0x16 * 4 + 2);
    /* Part 4 cannot exist with 1 GiB segments, though it can with 16 MiB ones. */
    CU_ASSERT_EQUAL(pgb_wal_segment_name_parse(ctx, "000000010000000000000004", GiB, &tli, &segno), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_wal_segment_name_parse(ctx, "000000010000000000000004", 16 * MiB, &tli, &segno), PGB_OK);
}

static void test_segment_of_end_is_the_segment_of_the_last_byte(void)
{
    CU_ASSERT_EQUAL(pgb_wal_segment_of_end(0x2000000, 16 * MiB), 1); /* ends exactly at a boundary */
    CU_ASSERT_EQUAL(pgb_wal_segment_of_end(0x2000001, 16 * MiB), 2);
    CU_ASSERT_EQUAL(pgb_wal_segment_of_end(0x2000028, 16 * MiB), 2);
}

static void test_segment_name_parse_round_trips_and_rejects(void)
{
    char name[PGB_WAL_NAME_SIZE];
    uint64_t sizes[] = {MiB, 16 * MiB, 64 * MiB, GiB};
    for (size_t i = 0; i < 4; i++) {
        uint64_t segnos[] = {0, 1, 255, 256, 4095, UINT64_C(0x123456789) % (UINT64_C(1) << 40)};
        for (size_t j = 0; j < 6; j++) {
            uint32_t tli = 0;
            uint64_t back = 0;
            pgb_wal_segment_name(7, segnos[j], sizes[i], name);
            CU_ASSERT_EQUAL(pgb_wal_segment_name_parse(ctx, name, sizes[i], &tli, &back), PGB_OK);
            CU_ASSERT_EQUAL(tli, 7);
            CU_ASSERT_EQUAL(back, segnos[j]);
        }
    }
    const char *bad[] = {"00000001000000000000000",  "0000000100000000000000020", "000000010000000000000002.partial",
                         "00000001000000000000000g", "000000010000000000000a02", "000000000000000000000002",
                         "00000001.history",         "000000010000000000000100", NULL};
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(pgb_wal_segment_name_parse(ctx, bad[i], 16 * MiB, NULL, NULL), PGB_EINVALID);
}

static void test_segment_size_parse_reads_show_output(void)
{
    uint64_t size = 0;
    CU_ASSERT_EQUAL(pgb_wal_segment_size_parse(ctx, "16MB", &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 16 * MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_size_parse(ctx, "1GB", &size), PGB_OK);
    CU_ASSERT_EQUAL(size, GiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_size_parse(ctx, "1024kB", &size), PGB_OK);
    CU_ASSERT_EQUAL(size, MiB);
    CU_ASSERT_EQUAL(pgb_wal_segment_size_parse(ctx, "16777216", &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 16 * MiB);
    const char *bad[] = {"", "MB", "15MB", "2GB", "512kB", "16 MB", "16mb", "-16MB", "99999999999999MB", NULL};
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(pgb_wal_segment_size_parse(ctx, bad[i], &size), PGB_EINVALID);
    CU_ASSERT(pgb_wal_segment_size_valid(MiB));
    CU_ASSERT(!pgb_wal_segment_size_valid(3 * MiB));
    CU_ASSERT(!pgb_wal_segment_size_valid(2 * GiB));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"lsn_parse_reads_postgres_text", test_lsn_parse_reads_postgres_text},
        {"lsn_parse_rejects_malformed_text", test_lsn_parse_rejects_malformed_text},
        {"lsn_format_round_trips", test_lsn_format_round_trips},
        {"segment_names_of_16MiB_segments", test_segment_names_of_16MiB_segments},
        {"segment_names_of_1GiB_segments", test_segment_names_of_1GiB_segments},
        {"segment_of_end_is_the_segment_of_the_last_byte", test_segment_of_end_is_the_segment_of_the_last_byte},
        {"segment_name_parse_round_trips_and_rejects", test_segment_name_parse_round_trips_and_rejects},
        {"segment_size_parse_reads_show_output", test_segment_size_parse_reads_show_output},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"lsn", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
