/*
 * The parallel copy of local backups on a fake data directory whose relation
 * files hold pages made with valid checksums, except: one damaged page in a
 * first segment, one in a third segment (relation-wide block numbers), a new
 * page and a page changed after the backup start, neither of which is
 * checked. Three workers copy into a posix repository: every file comes back
 * with its SHA-256, the list is complete and in path order, and exactly the
 * two damaged pages are reported. A storage made of callbacks gets one worker
 * and the same result. A canceled copy stops with PGB_ECANCELED.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include <pgbackup/pgbackup.h>

#include "backup/data_dir.h"
#include "backup/local_copy.h"
#include "backup/page_checksum.h"
#include "pipeline/compress.h"
#include "repo/file_list.h"
#include "storage/storage.h"
#include "test_main.h"

#define START_LSN UINT64_C(0x300000028)
#define SEGMENT_BLOCKS 131072u

static pgb_ctx *ctx;
static char root[64], pgdata[128];

/* A heap page with line pointers and data, LSN lsn, checksummed for block. */
static void make_page(uint8_t *page, uint32_t block, uint64_t lsn, unsigned seed)
{
    for (size_t i = 0; i < PGB_PAGE_SIZE; i++)
        page[i] = (uint8_t)((i * 31 + seed * 7) >> 3);
    uint32_t high = (uint32_t)(lsn >> 32), low = (uint32_t)lsn;
    uint16_t zero = 0, lower = 40, upper = 4096, special = PGB_PAGE_SIZE, version = PGB_PAGE_SIZE | 4;
    memcpy(page, &high, 4);
    memcpy(page + 4, &low, 4);
    memcpy(page + 8, &zero, 2);
    memcpy(page + 10, &zero, 2);
    memcpy(page + 12, &lower, 2);
    memcpy(page + 14, &upper, 2);
    memcpy(page + 16, &special, 2);
    memcpy(page + 18, &version, 2);
    uint16_t checksum = pgb_page_checksum((const char *)page, block);
    memcpy(page + 8, &checksum, 2);
}

static void write_file(const char *rel, const void *data, size_t size)
{
    char path[PATH_MAX], command[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", pgdata, rel);
    snprintf(command, sizeof(command), "mkdir -p \"$(dirname '%s')\"", path);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, data, size), (ssize_t)size);
    close(fd);
}

/* A relation segment of pages checksummed for their place (segment * 131072 + i). */
static uint8_t *relation(uint32_t segment, size_t pages)
{
    uint8_t *data = malloc(pages * PGB_PAGE_SIZE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    for (size_t i = 0; i < pages; i++)
        make_page(data + i * PGB_PAGE_SIZE, segment * SEGMENT_BLOCKS + (uint32_t)i, START_LSN - 4096 * (i + 1),
                  (unsigned)(i + segment));
    return data;
}

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-localcopy-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    snprintf(pgdata, sizeof(pgdata), "%s/data", root);
    return 0;
}

static int teardown(void)
{
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    pgb_ctx_free(ctx);
    return system(command) != 0;
}

static void build_tree(void)
{
    /* 300 pages (several reads of 1 MiB), block 200 damaged in the middle. */
    uint8_t *big = relation(0, 300);
    big[200 * PGB_PAGE_SIZE + 5000] ^= 0xFF;
    write_file("base/5/16385", big, 300 * PGB_PAGE_SIZE);
    free(big);
    /* A third segment: block 1 damaged (relation-wide 262145), block 2 new, block 3 changed since the start. */
    uint8_t *third = relation(2, 4);
    third[1 * PGB_PAGE_SIZE + 3000] ^= 0x01;
    memset(third + 2 * PGB_PAGE_SIZE + 14, 0, 2); /* pd_upper 0: a new page, whatever else it holds */
    make_page(third + 3 * PGB_PAGE_SIZE, 0, START_LSN + 8192, 9); /* wrong block, but newer than the start */
    write_file("base/5/16384.2", third, 4 * PGB_PAGE_SIZE);
    free(third);
    /* One valid page. */
    uint8_t *first = relation(0, 1);
    write_file("base/5/16386", first, PGB_PAGE_SIZE);
    free(first);
    /* Not relations: never page-checked, whatever they hold. */
    uint8_t junk[PGB_PAGE_SIZE];
    memset(junk, 0x7E, sizeof(junk));
    write_file("base/5/PG_VERSION", "15\n", 3);
    write_file("base/5/pg_filenode.map", junk, sizeof(junk));
    write_file("postgresql.conf", junk, 100);
    write_file("pg_xact/0000", junk, sizeof(junk));
    uint8_t control[8192] = {0};
    write_file("global/pg_control", control, sizeof(control));
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/pg_wal", pgdata);
    mkdir(path, 0700);
}

static void sha256_of(const char *rel, uint8_t digest[32])
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", pgdata, rel);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    uint8_t buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
        EVP_DigestUpdate(md, buffer, n);
    unsigned int size = 0;
    EVP_DigestFinal_ex(md, digest, &size);
    EVP_MD_CTX_free(md);
    fclose(f);
}

/* Copy the tree into repo with workers; check the list and the damaged pages. */
static void copy_and_check(pgb_repo *repo, int workers, int expected_workers)
{
    struct pgb_data_dir tree;
    CU_ASSERT_EQUAL_FATAL(pgb_data_dir_walk(ctx, pgdata, "PG_15_202209061", &tree), PGB_OK);
    struct pgb_local_copy_options o = {.workers = workers, .codec = PGB_CODEC_ZSTD, .level = 3, .verify_pages = 1,
                                       .blocks_per_segment = SEGMENT_BLOCKS};
    pgb_local_copy *copy = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_local_copy_new(&copy, repo, &o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_local_copy_workers(copy), expected_workers);
    struct pgb_progress progress;
    pgb_progress_begin(&progress, "copy");
    int rc = pgb_local_copy_tree(copy, &tree, START_LSN, &progress);
    if (rc != PGB_OK)
        fprintf(stderr, "copy: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    CU_ASSERT_STRING_EQUAL(tree.entries[tree.count - 1].path, "global/pg_control");
    CU_ASSERT_EQUAL(pgb_local_copy_file(copy, &tree.entries[tree.count - 1]), PGB_OK);
    CU_ASSERT_EQUAL(pgb_local_copy_add(copy, "backup_label", 0600, "START WAL LOCATION: 3/28\n", 25), PGB_OK);

    const struct pgb_bad_page *bad = NULL;
    size_t count = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_local_copy_bad_pages(copy, &bad, &count), PGB_OK);
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, "bad page: %s block %llu\n", bad[i].path, (unsigned long long)bad[i].block);
    CU_ASSERT_EQUAL_FATAL(count, 2);
    CU_ASSERT_STRING_EQUAL(bad[0].path, "base/5/16384.2");
    CU_ASSERT_EQUAL(bad[0].block, 2 * SEGMENT_BLOCKS + 1);
    CU_ASSERT_STRING_EQUAL(bad[1].path, "base/5/16385");
    CU_ASSERT_EQUAL(bad[1].block, 200);

    struct pgb_file_list files = {0};
    struct pgb_content_stats stats;
    CU_ASSERT_EQUAL_FATAL(pgb_local_copy_finish(copy, &files, &stats), PGB_OK);
    CU_ASSERT_EQUAL(files.count, tree.count + 1);
    CU_ASSERT_EQUAL(stats.files, tree.file_count + 1);
    CU_ASSERT_EQUAL(stats.bytes, tree.file_bytes + 25);
    for (size_t i = 0; i < files.count; i++) {
        const struct pgb_file_entry *e = &files.entries[i];
        if (i > 0)
            CU_ASSERT(strcmp(files.entries[i - 1].path, e->path) < 0);
        if (e->type != PGB_FILE_REGULAR || strcmp(e->path, "backup_label") == 0)
            continue;
        uint8_t digest[32];
        sha256_of(e->path, digest);
        CU_ASSERT_EQUAL(memcmp(digest, e->sha256, 32), 0);
    }
    pgb_file_list_clear(&files);
    pgb_local_copy_free(copy);
    pgb_data_dir_clear(&tree);
}

static void test_workers_copy_every_file_and_find_the_damaged_pages(void)
{
    build_tree();
    char path[160];
    snprintf(path, sizeof(path), "%s/repo", root);
    pgb_storage *storage = NULL;
    pgb_repo *repo = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&storage, ctx, path, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, storage, NULL), PGB_OK);
    copy_and_check(repo, 3, 3);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
}

static void test_storage_of_callbacks_gets_one_worker(void)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/repo-callbacks", root);
    pgb_storage_ops ops;
    void *payload = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_posix_backend_new(ctx, path, &ops, &payload), PGB_OK);
    pgb_storage *storage = NULL;
    pgb_repo *repo = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_from_callbacks(&storage, ctx, &ops, payload, "program-store"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_reopenable(storage), 0);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, storage, NULL), PGB_OK);
    copy_and_check(repo, 3, 1);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
}

static void test_canceled_copy_stops(void)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/repo", root);
    pgb_storage *storage = NULL;
    pgb_repo *repo = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&storage, ctx, path, NULL), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_reopenable(storage), 1);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, storage, NULL), PGB_OK);
    struct pgb_data_dir tree;
    CU_ASSERT_EQUAL_FATAL(pgb_data_dir_walk(ctx, pgdata, "PG_15_202209061", &tree), PGB_OK);
    for (int workers = 1; workers <= 2; workers++) {
        struct pgb_local_copy_options o = {.workers = workers, .codec = PGB_CODEC_NONE, .verify_pages = 1,
                                           .blocks_per_segment = SEGMENT_BLOCKS};
        pgb_local_copy *copy = NULL;
        CU_ASSERT_EQUAL_FATAL(pgb_local_copy_new(&copy, repo, &o), PGB_OK);
        struct pgb_progress progress;
        pgb_progress_begin(&progress, "copy");
        pgb_ctx_cancel(ctx);
        CU_ASSERT_EQUAL(pgb_local_copy_tree(copy, &tree, START_LSN, &progress), PGB_ECANCELED);
        pgb_ctx_reset_cancel(ctx);
        pgb_local_copy_free(copy);
    }
    pgb_data_dir_clear(&tree);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"workers_copy_every_file_and_find_the_damaged_pages", test_workers_copy_every_file_and_find_the_damaged_pages},
        {"storage_of_callbacks_gets_one_worker", test_storage_of_callbacks_gets_one_worker},
        {"canceled_copy_stops", test_canceled_copy_stops},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"local_copy", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
