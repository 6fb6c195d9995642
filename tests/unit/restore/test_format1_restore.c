/*
 * Backups written before file list format 2 still restore: a list of format
 * 1 (each chunk's sixth field its own SHA-256, no links, files checked whole)
 * pointing at real packs is restored byte for byte, by one worker and by
 * several, and a damaged chunk of it fails the restore naming the file.
 * The packs are written by today's content writer; the list is then written
 * as version 1 wrote it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/hex.h"
#include "pipeline/compress.h"
#include "repo/content_writer.h"
#include "repo/file_list.h"
#include "repo/pack.h"
#include "restore/file_restore.h"
#include "test_data.h"
#include "test_main.h"
#include "test_repo.h"

#define MIB ((size_t)1024 * 1024)

static struct pgb_test_repo fixture;
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char root[64];
static const char backup_id[] = "20250601T000000.000Z-full";

/* The files of the old backup; the large one spans several chunks. */
static const struct {
    const char *path;
    size_t size;
} files[] = {{"PG_VERSION", 3}, {"empty", 0}, {"base/1/16384", 5 * MIB + 8192}, {"global/pg_control", 8192}};
enum { FILE_COUNT = sizeof(files) / sizeof(files[0]) };
static uint8_t *contents[FILE_COUNT];

static int setup(void)
{
    if (pgb_test_repo_open(&fixture, "pgb-format1"))
        return 1;
    ctx = fixture.ctx, storage = fixture.storage, repo = fixture.repo;
    snprintf(root, sizeof(root), "%s", fixture.root);
    for (int i = 0; i < FILE_COUNT; i++) {
        contents[i] = malloc(files[i].size + 1);
        if (!contents[i])
            return 1;
        test_fill_random(contents[i], files[i].size, 100 + (uint64_t)i);
    }
    return 0;
}

static int teardown(void)
{
    for (int i = 0; i < FILE_COUNT; i++)
        free(contents[i]);
    return pgb_test_repo_close(&fixture);
}

/* Append one regular file of list to json as version 1 wrote it: the chunks' own SHA-256 as their sixth field. */
static void append_format_1_file(char *json, size_t size, const struct pgb_file_entry *e, const uint8_t *bytes)
{
    char sha[65];
    pgb_hex_encode(e->sha256, 32, sha);
    size_t used = strlen(json);
    used += (size_t)snprintf(json + used, size - used,
                             "{\"path\":\"%s\",\"type\":\"file\",\"mode\":384,\"size\":%llu,\"mtime\":1700000000,"
                             "\"sha256\":\"%s\",\"chunks\":[",
                             e->path, (unsigned long long)e->size, sha);
    uint64_t offset = 0;
    for (size_t c = 0; c < e->chunk_count; c++) {
        const struct pgb_chunk_ref *ref = &e->chunks[c].ref;
        uint8_t digest[32];
        CU_ASSERT_FATAL(test_sha256(bytes + offset, (size_t)ref->plain_size, digest));
        pgb_hex_encode(digest, 32, sha);
        used += (size_t)snprintf(json + used, size - used, "%s[\"%s\",\"%s\",%llu,%llu,%llu,\"%s\"]", c ? "," : "",
                                 e->chunks[c].id, ref->pack, (unsigned long long)ref->offset,
                                 (unsigned long long)ref->length, (unsigned long long)ref->plain_size, sha);
        offset += ref->plain_size;
    }
    snprintf(json + used, size - used, "]}");
}

/* Store the files' chunks in packs, then the list as version 1 wrote it. */
static void make_format_1_backup(void)
{
    pgb_content_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_new(&w, repo, PGB_CODEC_ZSTD, 3, NULL), PGB_OK);
    for (int i = 0; i < FILE_COUNT; i++) {
        CU_ASSERT_EQUAL(pgb_content_writer_begin(w, files[i].path, PGB_FILE_REGULAR, 0600, 1700000000, NULL), PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_data(w, contents[i], files[i].size), PGB_OK);
        CU_ASSERT_EQUAL(pgb_content_writer_end(w), PGB_OK);
    }
    CU_ASSERT_EQUAL_FATAL(pgb_content_writer_finish(w), PGB_OK);
    const struct pgb_file_list *written = pgb_content_writer_list(w);
    static char json[64 * 1024];
    snprintf(json, sizeof(json),
             "{\"format_version\":1,\"files\":["
             "{\"path\":\"base\",\"type\":\"directory\",\"mode\":448,\"size\":0,\"mtime\":1700000000},"
             "{\"path\":\"base/1\",\"type\":\"directory\",\"mode\":448,\"size\":0,\"mtime\":1700000000},"
             "{\"path\":\"global\",\"type\":\"directory\",\"mode\":448,\"size\":0,\"mtime\":1700000000}");
    for (int i = 0; i < FILE_COUNT; i++) {
        strcat(json, ",");
        append_format_1_file(json, sizeof(json), &written->entries[i], contents[i]);
    }
    strcat(json, "]}");
    pgb_content_writer_free(w);
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(repo, backup_id, "files", key);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    CU_ASSERT_EQUAL_FATAL(pgb_object_put(repo->storage, key, &repo->keys, &spec, json, strlen(json), NULL), PGB_OK);
}

static int restore(const char *target, int workers)
{
    struct pgb_file_list list;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, backup_id, &list), PGB_OK);
    for (size_t i = 0; i < list.count; i++)
        CU_ASSERT_EQUAL(list.entries[i].chained, 0);
    struct pgb_file_restore_options options = {.workers = workers};
    struct pgb_file_restore_stats stats;
    int rc = pgb_restore_files(repo, &list, target, &options, &stats);
    pgb_file_list_clear(&list);
    return rc;
}

/* Whether target holds exactly the files' bytes. */
static int same_files(const char *target)
{
    for (int i = 0; i < FILE_COUNT; i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", target, files[i].path);
        FILE *f = fopen(path, "rb");
        if (!f)
            return 0;
        uint8_t *back = malloc(files[i].size + 1);
        size_t got = fread(back, 1, files[i].size + 1, f);
        fclose(f);
        int same = got == files[i].size && memcmp(back, contents[i], files[i].size) == 0;
        free(back);
        if (!same)
            return 0;
    }
    return 1;
}

static void test_format_1_backup_restores_byte_for_byte(void)
{
    make_format_1_backup();
    char target[200];
    snprintf(target, sizeof(target), "%s/restored-1", root);
    CU_ASSERT_EQUAL(restore(target, 1), PGB_OK);
    CU_ASSERT(same_files(target));
    snprintf(target, sizeof(target), "%s/restored-3", root);
    CU_ASSERT_EQUAL(restore(target, 3), PGB_OK);
    CU_ASSERT(same_files(target));
}

static void test_damaged_chunk_of_a_format_1_backup_fails_naming_the_file(void)
{
    struct pgb_file_list list;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, backup_id, &list), PGB_OK);
    struct pgb_chunk_ref ref;
    memset(&ref, 0, sizeof(ref));
    for (size_t i = 0; i < list.count; i++)
        if (strcmp(list.entries[i].path, "base/1/16384") == 0)
            ref = list.entries[i].chunks[3].ref;
    pgb_file_list_clear(&list);
    CU_ASSERT_FATAL(ref.pack[0] != '\0');
    char key[PGB_KEY_SIZE];
    pgb_pack_key(repo, ref.pack, key);
    void *data;
    size_t size;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(storage, key, &data, &size), PGB_OK);
    ((uint8_t *)data)[ref.offset + ref.length / 2] ^= 0x20;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, key, data, size, 0), PGB_OK);
    char target[200];
    snprintf(target, sizeof(target), "%s/restored-damaged", root);
    CU_ASSERT_EQUAL(restore(target, 2), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "base/1/16384"));
    pgb_free(data);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"format_1_backup_restores_byte_for_byte", test_format_1_backup_restores_byte_for_byte},
        {"damaged_chunk_of_a_format_1_backup_fails_naming_the_file",
         test_damaged_chunk_of_a_format_1_backup_fails_naming_the_file},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"format1_restore", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
