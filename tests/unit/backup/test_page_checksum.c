/*
 * Data page checksums against pages of a real PostgreSQL 15 cluster (the
 * fixture runs initdb with data checksums on): every page of a table, a
 * catalog and an index, written by the server at a checkpoint, has in its
 * pd_checksum what pgb_page_checksum computes for its block number; a changed
 * byte or another block number gives another checksum; the page is never
 * written to.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "backup/page_checksum.h"
#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;

static int setup(void)
{
    if (pg_fixture_start(&server, NULL) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    char out[256];
    if (pg_fixture_psql(&server, "CREATE TABLE pages AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 5000) g",
                        out, sizeof(out)) != 0 ||
        pg_fixture_psql(&server, "CREATE INDEX pages_h ON pages (h)", out, sizeof(out)) != 0 ||
        pg_fixture_psql(&server, "CHECKPOINT", out, sizeof(out)) != 0)
        return 1;
    return 0;
}

static int teardown(void)
{
    pg_fixture_stop(&server);
    return 0;
}

/* The relation's first segment, read whole; *pages gets its number of pages. */
static char *read_relation(const char *relation, size_t *pages)
{
    char sql[256], rel[256], path[PATH_MAX];
    snprintf(sql, sizeof(sql), "SELECT pg_relation_filepath('%s')", relation);
    CU_ASSERT_EQUAL_FATAL(pg_fixture_psql(&server, sql, rel, sizeof(rel)), 0);
    snprintf(path, sizeof(path), "%s/%s", server.datadir, rel);
    int fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    CU_ASSERT_FATAL(size > 0 && size % PGB_PAGE_SIZE == 0);
    char *data = malloc((size_t)size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CU_ASSERT_EQUAL_FATAL(pread(fd, data, (size_t)size, 0), (ssize_t)size);
    close(fd);
    *pages = (size_t)size / PGB_PAGE_SIZE;
    return data;
}

static uint16_t stored_checksum(const char *page)
{
    uint16_t stored;
    memcpy(&stored, page + 8, sizeof(stored));
    return stored;
}

static int is_new(const char *page)
{
    uint16_t upper;
    memcpy(&upper, page + 14, sizeof(upper));
    return upper == 0;
}

static void check_relation(const char *relation, size_t min_pages)
{
    size_t pages = 0;
    char *data = read_relation(relation, &pages);
    CU_ASSERT(pages >= min_pages);
    size_t checked = 0;
    for (size_t i = 0; i < pages; i++) {
        const char *page = data + i * PGB_PAGE_SIZE;
        if (is_new(page))
            continue;
        uint16_t computed = pgb_page_checksum(page, (uint32_t)i);
        if (computed != stored_checksum(page))
            fprintf(stderr, "%s block %zu: computed %u, stored %u\n", relation, i, computed, stored_checksum(page));
        CU_ASSERT_EQUAL(computed, stored_checksum(page));
        checked++;
    }
    CU_ASSERT(checked >= min_pages);
    free(data);
}

static void test_checksums_match_the_servers_pages(void)
{
    check_relation("pages", 30);
    check_relation("pages_h", 10);
    check_relation("pg_class", 5);
}

static void test_checksum_depends_on_content_and_block(void)
{
    size_t pages = 0;
    char *data = read_relation("pages", &pages);
    char *page = data + 3 * PGB_PAGE_SIZE;
    char before[PGB_PAGE_SIZE];
    memcpy(before, page, sizeof(before));
    uint16_t stored = stored_checksum(page);
    CU_ASSERT_EQUAL(pgb_page_checksum(page, 3), stored);
    /* The page is read, never written, even though PostgreSQL's code zeroes pd_checksum while it works. */
    CU_ASSERT_EQUAL(memcmp(before, page, sizeof(before)), 0);
    /* The same page at another place in the relation (block 3 of segment 1: 131075). */
    CU_ASSERT_NOT_EQUAL(pgb_page_checksum(page, 131075), stored);
    CU_ASSERT_NOT_EQUAL(pgb_page_checksum(page, 4), stored);
    /* One byte in the middle of the page. */
    page[4000] ^= 0x01;
    CU_ASSERT_NOT_EQUAL(pgb_page_checksum(page, 3), stored);
    page[4000] ^= 0x01;
    /* pd_checksum itself does not count. */
    page[8] ^= 0x55;
    CU_ASSERT_EQUAL(pgb_page_checksum(page, 3), stored);
    /* Any alignment. */
    char *unaligned = malloc(PGB_PAGE_SIZE + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(unaligned);
    memcpy(unaligned + 1, before, PGB_PAGE_SIZE);
    CU_ASSERT_EQUAL(pgb_page_checksum(unaligned + 1, 3), stored);
    free(unaligned);
    free(data);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"checksums_match_the_servers_pages", test_checksums_match_the_servers_pages},
        {"checksum_depends_on_content_and_block", test_checksum_depends_on_content_and_block},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"page_checksum", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
