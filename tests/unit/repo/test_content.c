/*
 * Physical backup content in the repository, without PostgreSQL: files cut
 * into chunks in packs, a file list, restore to identical files, incrementals
 * that store only changed chunks (found by content, not size or mtime), and
 * damage in a pack found on restore.
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
#include "restore/file_restore.h"
#include "test_main.h"
#include "test_repo.h"

static struct pgb_test_repo fixture;
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char root[64], source[128], repo_dir[128];

static void write_file(const char *name, const uint8_t *data, size_t size, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", source, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, data, size), (ssize_t)size);
    close(fd);
    chmod(path, mode);
}

static int setup(void)
{
    if (pgb_test_repo_open(&fixture, "pgb-content"))
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

/*
 * Back up the source tree (depth one folder) into backup id, reusing parent's
 * chunks; threads > 0: chunks stored by that many encoder threads.
 */
static struct pgb_content_stats back_up(const char *id, const struct pgb_file_list *parent, int threads)
{
    pgb_content_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_new(&w, repo, PGB_CODEC_ZSTD, 3, parent), PGB_OK);
    if (threads > 0)
        CU_ASSERT_EQUAL_FATAL(pgb_content_writer_use_thread(w, threads), PGB_OK);
    const char *dirs[] = {"base", "base/1"};
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(pgb_content_writer_begin(w, dirs[i], PGB_FILE_DIRECTORY, 0700, 0, NULL), PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
    }
    const char *files[] = {"empty", "small", "exact", "large", "base/1/zeros", "base/1/twin"};
    for (int i = 0; i < 6; i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", source, files[i]);
        struct stat st;
        CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
        CU_ASSERT_EQUAL(pgb_content_writer_begin(w, files[i], PGB_FILE_REGULAR, st.st_mode & 07777, st.st_mtime, NULL),
                        PGB_OK);
        int fd = open(path, O_RDONLY);
        uint8_t buffer[70000]; /* not a divisor of the chunk size */
        ssize_t n;
        while ((n = read(fd, buffer, sizeof(buffer))) > 0)
            CU_ASSERT_EQUAL(pgb_content_writer_data(w, buffer, (size_t)n), PGB_OK);
        close(fd);
        CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
    }
    CU_ASSERT_EQUAL(pgb_content_writer_begin(w, "link", PGB_FILE_SYMLINK, 0777, 0, "/somewhere/else"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_finish(w), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_store(repo, id, pgb_content_writer_list(w), NULL), PGB_OK);
    struct pgb_content_stats stats = pgb_content_writer_stats(w);
    pgb_content_writer_free(w);
    return stats;
}

static int restore_and_compare(const char *id, const char *target)
{
    struct pgb_file_list list;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, id, &list), PGB_OK);
    struct pgb_file_restore_options options = {0};
    struct pgb_file_restore_stats stats;
    int rc = pgb_restore_files(repo, &list, target, &options, &stats);
    pgb_file_list_clear(&list);
    if (rc != PGB_OK)
        return rc;
    char command[512];
    snprintf(command, sizeof(command), "diff -r --no-dereference '%s' '%s' >/dev/null && "
                                       "test \"$(stat -c %%a '%s/small')\" = 640 && "
                                       "test \"$(readlink '%s/link')\" = /somewhere/else",
             source, target, target, target);
    return system(command) == 0 ? PGB_OK : PGB_ERROR;
}

static void test_full_then_incremental_restore_identical_files(void)
{
    CU_ASSERT_EQUAL_FATAL(mkdir(source, 0700), 0);
    mkdir(strcat(strcpy((char[200]){0}, source), "/base"), 0700);
    char base1[200];
    snprintf(base1, sizeof(base1), "%s/base/1", source);
    mkdir(base1, 0700);
    size_t large_size = 5 * 1024 * 1024 / 2; /* 2.5 chunks */
    uint8_t *large = malloc(large_size);
    RAND_bytes(large, (int)large_size);
    uint8_t *zeros = calloc(1, 3 * 1024 * 1024);
    uint8_t *exact = malloc(1024 * 1024);
    RAND_bytes(exact, 1024 * 1024);
    write_file("empty", (const uint8_t *)"", 0, 0600);
    write_file("small", (const uint8_t *)"PG_VERSION 15\n", 14, 0640);
    write_file("exact", exact, 1024 * 1024, 0600);
    write_file("large", large, large_size, 0600);
    write_file("base/1/zeros", zeros, 3 * 1024 * 1024, 0600);
    write_file("base/1/twin", exact, 1024 * 1024, 0600); /* same bytes as "exact" */
    char link[200];
    snprintf(link, sizeof(link), "%s/link", source);
    CU_ASSERT_EQUAL(symlink("/somewhere/else", link), 0);

    struct pgb_content_stats full = back_up("20261125T100000.000Z-full", NULL, 0);
    /* large: 3 chunks, exact/twin: 1 shared, small: 1, zeros: 3 equal chunks -> 1. */
    CU_ASSERT_EQUAL(full.chunks_new, 3 + 1 + 1 + 1);
    CU_ASSERT_EQUAL(full.chunks_reused, 1 + 2);
    CU_ASSERT(full.stored_bytes < full.bytes);
    char target[200];
    snprintf(target, sizeof(target), "%s/restored-full", root);
    CU_ASSERT_EQUAL(restore_and_compare("20261125T100000.000Z-full", target), PGB_OK);

    /* One byte changed in place: same size, same mtime. Only its chunk is stored again. */
    char path[200];
    snprintf(path, sizeof(path), "%s/large", source);
    struct stat before;
    stat(path, &before);
    large[1024 * 1024 + 5] ^= 0xff;
    write_file("large", large, large_size, 0600);
    struct timespec times[2] = {before.st_mtim, before.st_mtim};
    utimensat(AT_FDCWD, path, times, 0);
    struct pgb_file_list parent;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, "20261125T100000.000Z-full", &parent), PGB_OK);
    struct pgb_content_stats incremental = back_up("20261125T110000.000Z-incr", &parent, 1);
    pgb_file_list_clear(&parent);
    CU_ASSERT_EQUAL(incremental.chunks_new, 1);
    /* One 1 MiB chunk of random bytes out of about 3.5 MiB of random bytes. */
    CU_ASSERT(incremental.stored_bytes < full.stored_bytes / 3);
    snprintf(target, sizeof(target), "%s/restored-incr", root);
    CU_ASSERT_EQUAL(restore_and_compare("20261125T110000.000Z-incr", target), PGB_OK);

    /* The same tree as a new full backup, every chunk through three encoder threads (out of order). */
    struct pgb_content_stats threaded = back_up("20261125T120000.000Z-full", NULL, 3);
    CU_ASSERT_EQUAL(threaded.chunks_new + threaded.chunks_reused, full.chunks_new + full.chunks_reused);
    /* Chunks met again while their first copy is in flight may be stored twice, never more than once each. */
    CU_ASSERT(threaded.chunks_new >= full.chunks_new && threaded.chunks_new <= full.chunks_new + full.chunks_reused);
    snprintf(target, sizeof(target), "%s/restored-threaded", root);
    CU_ASSERT_EQUAL(restore_and_compare("20261125T120000.000Z-full", target), PGB_OK);
    free(large);
    free(zeros);
    free(exact);
}

static void test_damaged_pack_fails_the_restore_naming_the_pack(void)
{
    /* Damage a chunk that the incremental's "large" file uses. */
    struct pgb_file_list list;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, "20261125T110000.000Z-incr", &list), PGB_OK);
    const struct pgb_chunk_ref *ref = NULL;
    for (size_t i = 0; i < list.count && !ref; i++)
        if (strcmp(list.entries[i].path, "large") == 0)
            ref = &list.entries[i].chunks[0].ref;
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    char pack[PGB_KEY_SIZE];
    pgb_pack_key(repo, ref->pack, pack);
    uint64_t at = ref->offset + ref->length / 2;
    pgb_file_list_clear(&list);
    void *data;
    size_t size;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(storage, pack, &data, &size), PGB_OK);
    CU_ASSERT_FATAL(at < size);
    ((uint8_t *)data)[at] ^= 1;
    CU_ASSERT_EQUAL(pgb_storage_put(storage, pack, data, size, 0), PGB_OK);
    pgb_free(data);
    char target[200];
    snprintf(target, sizeof(target), "%s/restored-damaged", root);
    CU_ASSERT_EQUAL(restore_and_compare("20261125T110000.000Z-incr", target), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pack"));
    /* pg_control comes last: a restore that failed leaves none, so no server can start on it. */
    char control[256];
    snprintf(control, sizeof(control), "%s/global/pg_control", target);
    CU_ASSERT_NOT_EQUAL(access(control, F_OK), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"full_then_incremental_restore_identical_files", test_full_then_incremental_restore_identical_files},
        {"damaged_pack_fails_the_restore_naming_the_pack", test_damaged_pack_fails_the_restore_naming_the_pack},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"content", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
