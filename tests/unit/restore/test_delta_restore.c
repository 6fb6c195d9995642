/*
 * restore --delta: files already in the target whose SHA-256 matches are kept,
 * changed (same size, other bytes) and missing ones are written again, and the
 * result is identical to the backup.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/rand.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/compress.h"
#include "repo/content_writer.h"
#include "restore/file_restore.h"
#include "test_main.h"

static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char root[64];

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-delta-XXXXXX");
    char repo_dir[128];
    if (!mkdtemp(root))
        return 1;
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", root);
    return pgb_ctx_new(&ctx) || pgb_storage_open(&storage, ctx, repo_dir, NULL) ||
           pgb_repo_init(&repo, storage, NULL);
}

static int teardown(void)
{
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    return system(command) != 0;
}

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, data, size), (ssize_t)size);
    close(fd);
}

static void test_delta_keeps_matching_files_and_rewrites_the_rest(void)
{
    enum { FILES = 6, SIZE = 300000 };
    static uint8_t data[FILES][SIZE];
    RAND_bytes(&data[0][0], sizeof(data));
    pgb_content_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_new(&w, repo, PGB_CODEC_ZSTD, 1, NULL), PGB_OK);
    for (int i = 0; i < FILES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "file%d", i);
        CU_ASSERT_EQUAL(pgb_content_writer_begin(w, name, PGB_FILE_REGULAR, 0600, 1700000000, NULL), PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_data(w, data[i], SIZE), PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
    }
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_finish(w), PGB_OK);
    const struct pgb_file_list *list = pgb_content_writer_list(w);

    char target[128], source[128];
    snprintf(target, sizeof(target), "%s/target", root);
    snprintf(source, sizeof(source), "%s/source", root);
    mkdir(source, 0700);
    for (int i = 0; i < FILES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "file%d", i);
        write_file(source, name, data[i], SIZE);
    }
    struct pgb_file_restore_options options = {0};
    struct pgb_file_restore_stats stats;
    CU_ASSERT_EQUAL_FATAL(pgb_restore_files(repo, list, target, &options, &stats), PGB_OK);
    CU_ASSERT_EQUAL(stats.files_reused, 0);

    /* One file changed in place (same size), one removed. */
    uint8_t changed[SIZE];
    memcpy(changed, data[2], SIZE);
    changed[SIZE / 2] ^= 0xff;
    write_file(target, "file2", changed, SIZE);
    char removed[256];
    snprintf(removed, sizeof(removed), "%s/file4", target);
    CU_ASSERT_EQUAL(unlink(removed), 0);

    options.delta = 1;
    CU_ASSERT_EQUAL_FATAL(pgb_restore_files(repo, list, target, &options, &stats), PGB_OK);
    CU_ASSERT_EQUAL(stats.files, FILES);
    CU_ASSERT_EQUAL(stats.files_reused, FILES - 2);
    char command[300];
    snprintf(command, sizeof(command), "diff -r '%s' '%s' >/dev/null", source, target);
    CU_ASSERT_EQUAL(system(command), 0);
    pgb_content_writer_free(w);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"delta_keeps_matching_files_and_rewrites_the_rest", test_delta_keeps_matching_files_and_rewrites_the_rest},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"delta", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
