/*
 * Restoring a backup's files with several workers, without PostgreSQL: the
 * restored tree is identical to the source (contents, modes, links, empty
 * files, files of several chunks), global/pg_control is written only once
 * every other file is; a damaged chunk fails the restore naming its file and
 * leaves no pg_control; the cancel flag stops the workers.
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
#include "repo/file_list.h"
#include "repo/pack.h"
#include "restore/file_restore.h"
#include "test_main.h"
#include "test_repo.h"

static struct pgb_test_repo fixture;
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char root[64], source[128], repo_dir[128];
static const char backup_id[] = "20261201T100000.000Z-full";

/* Regular files of the source; the biggest span several 1 MiB chunks. */
static const struct {
    const char *path;
    size_t size;
    mode_t mode;
} files[] = {
    {"PG_VERSION", 3, 0600},          {"empty", 0, 0600},
    {"base/1/big", 3500000, 0600},    {"base/1/medium", 1048576, 0640},
    {"base/1/huge", 9500000, 0640}, /* ten chunks: written in pieces by several workers */
    {"base/1/small", 8192, 0600},     {"base/5/one", 1500000, 0600},
    {"base/5/two", 700000, 0600},     {"base/5/three", 24576, 0600},
    {"global/1262", 8192, 0600},      {"global/pg_control", 8192, 0600},
    {"pg_xact/0000", 8192, 0600},
};
enum { FILE_COUNT = sizeof(files) / sizeof(files[0]) };
static const char *const folders[] = {"base", "base/1", "base/5", "global", "pg_xact", "pg_wal"};

static int setup(void)
{
    if (pgb_test_repo_open(&fixture, "pgb-prestore"))
        return 1;
    ctx = fixture.ctx, storage = fixture.storage, repo = fixture.repo;
    snprintf(root, sizeof(root), "%s", fixture.root);
    snprintf(source, sizeof(source), "%s/source", root);
    snprintf(repo_dir, sizeof(repo_dir), "%s", fixture.repo_dir);
    return 0;
}

static int teardown(void)
{
    return pgb_test_repo_close(&fixture);
}

/* Write the source tree and back it up, in the order a backup lists it (pg_control last). */
static void make_backup(void)
{
    CU_ASSERT_EQUAL_FATAL(mkdir(source, 0700), 0);
    pgb_content_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_new(&w, repo, PGB_CODEC_ZSTD, 3, NULL), PGB_OK);
    for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", source, folders[i]);
        CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
        CU_ASSERT_EQUAL(pgb_content_writer_begin(w, folders[i], PGB_FILE_DIRECTORY, 0700, 0, NULL), PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
    }
    for (size_t i = 0; i < FILE_COUNT; i++) {
        uint8_t *data = malloc(files[i].size + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(data);
        RAND_bytes(data, (int)files[i].size + 1);
        if (files[i].size > 2000000)
            memset(data + 1000000, 0, 1500000); /* a compressible stretch */
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", source, files[i].path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, files[i].mode);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, data, files[i].size), (ssize_t)files[i].size);
        close(fd);
        chmod(path, files[i].mode);
        CU_ASSERT_EQUAL(pgb_content_writer_begin(w, files[i].path, PGB_FILE_REGULAR, files[i].mode, 1700000000, NULL),
                        PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_data(w, data, files[i].size), PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
        free(data);
    }
    char link[256];
    snprintf(link, sizeof(link), "%s/pg_wal/link", source);
    CU_ASSERT_EQUAL(symlink("/somewhere/else", link), 0);
    CU_ASSERT_EQUAL(pgb_content_writer_begin(w, "pg_wal/link", PGB_FILE_SYMLINK, 0777, 0, "/somewhere/else"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_finish(w), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_store(repo, backup_id, pgb_content_writer_list(w), NULL), PGB_OK);
    pgb_content_writer_free(w);
}

static int restore(const char *target, int workers, struct pgb_file_restore_stats *stats)
{
    struct pgb_file_list list;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, backup_id, &list), PGB_OK);
    struct pgb_file_restore_options options = {.workers = workers};
    int rc = pgb_restore_files(repo, &list, target, &options, stats);
    pgb_file_list_clear(&list);
    return rc;
}

static int control_exists(const char *target)
{
    char control[256];
    snprintf(control, sizeof(control), "%s/global/pg_control", target);
    return access(control, F_OK) == 0;
}

static void test_three_workers_restore_an_identical_tree(void)
{
    make_backup();
    char target[200];
    snprintf(target, sizeof(target), "%s/restored", root);
    struct pgb_file_restore_stats stats;
    int rc = restore(target, 3, &stats);
    if (rc != PGB_OK)
        fprintf(stderr, "restore: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    CU_ASSERT_EQUAL(stats.files, FILE_COUNT);
    CU_ASSERT_EQUAL(stats.files_reused, 0);
    char command[2048];
    snprintf(command, sizeof(command), "diff -r --no-dereference '%s' '%s' && "
                                       "test \"$(stat -c %%a '%s/base/1/medium')\" = 640 && "
                                       "test \"$(stat -c %%Y '%s/base/1/big')\" = 1700000000 && "
                                       "test \"$(readlink '%s/pg_wal/link')\" = /somewhere/else",
             source, target, target, target, target);
    CU_ASSERT_EQUAL(system(command), 0);
}

/* Flip one bit in the middle of chunk `chunk` of path (found through the file list); again to repair it. */
static void flip_chunk_bit(const char *path, size_t chunk)
{
    struct pgb_file_list list;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, backup_id, &list), PGB_OK);
    struct pgb_chunk_ref ref;
    memset(&ref, 0, sizeof(ref));
    for (size_t i = 0; i < list.count; i++)
        if (strcmp(list.entries[i].path, path) == 0 && list.entries[i].chunk_count > chunk)
            ref = list.entries[i].chunks[chunk].ref;
    pgb_file_list_clear(&list);
    CU_ASSERT_FATAL(ref.pack[0] != '\0');
    char key[PGB_KEY_SIZE];
    pgb_pack_key(repo, ref.pack, key);
    void *data;
    size_t size;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(storage, key, &data, &size), PGB_OK);
    CU_ASSERT_FATAL(ref.offset + ref.length <= size);
    ((uint8_t *)data)[ref.offset + ref.length / 2] ^= 0x04;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, key, data, size, 0), PGB_OK);
    pgb_free(data);
}

/* A restore with one damaged chunk in path: fails naming path, leaves neither path nor pg_control. */
static void check_damaged_restore(const char *path, size_t chunk, const char *folder)
{
    flip_chunk_bit(path, chunk);
    char target[200];
    snprintf(target, sizeof(target), "%s/%s", root, folder);
    struct pgb_file_restore_stats stats;
    CU_ASSERT_EQUAL(restore(target, 3, &stats), PGB_ECORRUPT);
    fprintf(stderr, "damaged restore: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), path));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pack"));
    /* No server could start on what is left: pg_control is written only after every other file. */
    CU_ASSERT_FALSE(control_exists(target));
    char damaged[256];
    snprintf(damaged, sizeof(damaged), "%s/%s", target, path);
    CU_ASSERT_NOT_EQUAL(access(damaged, F_OK), 0); /* the damaged file is not left half-written */
    flip_chunk_bit(path, chunk); /* repair, for the tests after this one */
}

static void test_damaged_chunk_fails_parallel_restore_naming_the_file_without_pg_control(void)
{
    /* Chunk 2: chunk 1 is all zeros, shared with base/1/huge, which might then be the one to fail. */
    check_damaged_restore("base/1/big", 2, "restored-damaged");
}

static void test_damaged_chunk_of_a_file_written_in_pieces_fails_naming_it(void)
{
    /* Chunk 6 is in the second piece of base/1/huge: another worker may be writing its first piece. */
    check_damaged_restore("base/1/huge", 6, "restored-damaged-piece");
}

static void test_cancel_flag_stops_parallel_restore_without_pg_control(void)
{
    char target[200];
    snprintf(target, sizeof(target), "%s/restored-canceled", root);
    struct pgb_file_restore_stats stats;
    CU_ASSERT_EQUAL(pgb_ctx_cancel(ctx), PGB_OK);
    CU_ASSERT_EQUAL(restore(target, 3, &stats), PGB_ECANCELED);
    CU_ASSERT_EQUAL(pgb_ctx_reset_cancel(ctx), PGB_OK);
    CU_ASSERT_FALSE(control_exists(target));
    CU_ASSERT(stats.files < FILE_COUNT);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"three_workers_restore_an_identical_tree", test_three_workers_restore_an_identical_tree},
        {"damaged_chunk_fails_parallel_restore_naming_the_file_without_pg_control",
         test_damaged_chunk_fails_parallel_restore_naming_the_file_without_pg_control},
        {"damaged_chunk_of_a_file_written_in_pieces_fails_naming_it",
         test_damaged_chunk_of_a_file_written_in_pieces_fails_naming_it},
        {"cancel_flag_stops_parallel_restore_without_pg_control",
         test_cancel_flag_stops_parallel_restore_without_pg_control},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"parallel_restore", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
