/*
 * File lists in a real (local, encrypted) repository: a list of format 2
 * comes back field for field, chained entries with their links and
 * unchained ones with their chunk SHA-256s; lists of format 1 written by
 * earlier versions still load, as unchained entries whose chunks can be
 * checked; and a chain that cannot be checked link by link is refused as
 * damage instead of failing later, chunk by chunk, in a restore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include <pgbackup/pgbackup.h>

#include "core/hex.h"
#include "pipeline/sha256_chain.h"
#include "repo/chunk_check.h"
#include "repo/file_list.h"
#include "repo/repo.h"
#include "test_data.h"
#include "test_main.h"
#include "test_repo.h"

#define MIB ((size_t)1024 * 1024)

static struct pgb_test_repo fixture;
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char root[64];
static uint8_t *file_data; /* the bytes of the test files: 2 MiB + 1000 random bytes */
static const size_t file_size = 2 * MIB + 1000;

static int setup(void)
{
    if (pgb_test_repo_open(&fixture, "pgb-file-list"))
        return 1;
    ctx = fixture.ctx, storage = fixture.storage, repo = fixture.repo;
    snprintf(root, sizeof(root), "%s", fixture.root);
    file_data = malloc(file_size);
    if (!file_data)
        return 1;
    test_fill_random(file_data, file_size, 0xa4093822299f31d0ull);
    return 0;
}

static int teardown(void)
{
    free(file_data);
    return pgb_test_repo_close(&fixture);
}

static void sha256_of(const uint8_t *bytes, size_t size, uint8_t out[32])
{
    CU_ASSERT_FATAL(test_sha256(bytes, size, out));
}

/* A content id or pack id that differs per seed: 64 or 32 hex digits. */
static void fake_hex(char *out, size_t digits, unsigned seed)
{
    uint64_t state = 0x9e3779b97f4a7c15ull * (seed + 1);
    for (size_t i = 0; i < digits; i++)
        out[i] = "0123456789abcdef"[test_xorshift(&state) >> 60];
    out[digits] = '\0';
}

static char *copy_text(const char *text)
{
    char *copy = malloc(strlen(text) + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    return strcpy(copy, text);
}

/*
 * A regular file of the first size bytes of file_data, cut into count chunks
 * of the given sizes; chained: links from the SHA-256 chain (format 2), else
 * each chunk's SHA-256 (format 1). Ids, packs and offsets are made up: a list
 * does not look into packs.
 */
static void regular_entry(struct pgb_file_entry *e, const char *path, const size_t *sizes, size_t count, int chained,
                          unsigned seed)
{
    memset(e, 0, sizeof(*e));
    e->path = copy_text(path);
    e->type = PGB_FILE_REGULAR;
    e->mode = 0600;
    e->mtime = 1764000000 + (int64_t)seed;
    e->chained = chained;
    e->chunk_count = count;
    e->chunks = count ? calloc(count, sizeof(*e->chunks)) : NULL;
    struct pgb_sha256_chain chain;
    pgb_sha256_chain_start(&chain);
    for (size_t i = 0; i < count; i++) {
        struct pgb_stored_chunk *c = &e->chunks[i];
        fake_hex(c->id, 64, seed * 100 + (unsigned)i);
        fake_hex(c->ref.pack, 32, seed * 100 + (unsigned)i + 50);
        c->ref.offset = ((uint64_t)5 << 30) + 4096 * i; /* beyond 32 bits: packs are large */
        c->ref.length = 100 + i;
        c->ref.plain_size = sizes[i];
        pgb_sha256_chain_update(&chain, file_data + e->size, sizes[i]);
        if (!chained)
            sha256_of(file_data + e->size, sizes[i], c->ref.sha256);
        else if (i + 1 < count && pgb_sha256_chain_link(&chain, c->link) != 0)
            memset(c->link, 0x5a, 32); /* off a block boundary no writer has a link: a damaged list */
        e->size += sizes[i];
    }
    pgb_sha256_chain_final(&chain, e->sha256);
    if (chained && count)
        memcpy(e->chunks[count - 1].link, e->sha256, 32);
}

/* Every entry kind: chained files of 3, 1 and 0 chunks, an unchained file, a folder, a symlink. */
static void sample_list(struct pgb_file_list *list)
{
    memset(list, 0, sizeof(*list));
    struct pgb_file_entry e;
    const size_t three[] = {MIB, MIB, 1000}, one[] = {8192}, old[] = {1001, 999};
    regular_entry(&e, "base/1/16384", three, 3, 1, 1);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, list, &e), PGB_OK);
    regular_entry(&e, "global/pg_control", one, 1, 1, 2);
    e.mode = 0640;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, list, &e), PGB_OK);
    regular_entry(&e, "standby.signal", NULL, 0, 1, 3);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, list, &e), PGB_OK);
    /* A chunk reused from a format-1 backup: its entry keeps chunk SHA-256s ("links": false). */
    regular_entry(&e, "base/1/old", old, 2, 0, 4);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, list, &e), PGB_OK);
    e = (struct pgb_file_entry){
        .path = copy_text("base/1"), .type = PGB_FILE_DIRECTORY, .mode = 0700, .mtime = 1764000100};
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, list, &e), PGB_OK);
    e = (struct pgb_file_entry){.path = copy_text("pg_wal"), .type = PGB_FILE_SYMLINK, .mode = 0777, .mtime = -5,
                                .link = copy_text("/wal/elsewhere")};
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, list, &e), PGB_OK);
}

/* Field by field; says which differs. */
static int same_entry(const struct pgb_file_entry *a, const struct pgb_file_entry *b)
{
    const char *differs = NULL;
    if (strcmp(a->path, b->path) != 0)
        differs = "path";
    else if (a->type != b->type || a->mode != b->mode || a->size != b->size || a->mtime != b->mtime)
        differs = "type, mode, size or mtime";
    else if (memcmp(a->sha256, b->sha256, 32) != 0)
        differs = "sha256";
    else if (a->chained != b->chained)
        differs = "chained";
    else if ((a->link == NULL) != (b->link == NULL) || (a->link && strcmp(a->link, b->link) != 0))
        differs = "link";
    else if (a->chunk_count != b->chunk_count)
        differs = "chunk count";
    for (size_t i = 0; !differs && i < a->chunk_count; i++) {
        const struct pgb_stored_chunk *x = &a->chunks[i], *y = &b->chunks[i];
        if (strcmp(x->id, y->id) != 0 || strcmp(x->ref.pack, y->ref.pack) != 0)
            differs = "chunk id or pack";
        else if (x->ref.offset != y->ref.offset || x->ref.length != y->ref.length ||
                 x->ref.plain_size != y->ref.plain_size)
            differs = "chunk offset, length or plain size";
        else if (memcmp(x->ref.sha256, y->ref.sha256, 32) != 0)
            differs = "chunk sha256";
        else if (memcmp(x->link, y->link, 32) != 0)
            differs = "chunk link";
    }
    if (differs)
        fprintf(stderr, "%s: %s differs\n", a->path, differs);
    return differs == NULL;
}

static void test_format_2_list_comes_back_field_for_field(void)
{
    struct pgb_file_list stored, loaded;
    sample_list(&stored);
    uint64_t stored_size = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_store(repo, "20261125T100000.000Z-full", &stored, &stored_size), PGB_OK);
    CU_ASSERT(stored_size > 0);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, "20261125T100000.000Z-full", &loaded), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(loaded.count, stored.count);
    for (size_t i = 0; i < stored.count; i++)
        CU_ASSERT(same_entry(&stored.entries[i], &loaded.entries[i]));
    /* What was loaded is what chunk checks need: the chained file's chunks pass on their own, in any order. */
    const struct pgb_file_entry *big = &loaded.entries[0], *old = &loaded.entries[3];
    CU_ASSERT_EQUAL(big->chained, 1);
    CU_ASSERT_EQUAL(old->chained, 0);
    for (size_t i = 3; i-- > 0;) {
        uint64_t at = pgb_chunk_offset(big, i);
        CU_ASSERT_EQUAL(pgb_chunk_matches(big, i, at, file_data + at, big->chunks[i].ref.plain_size), 1);
    }
    CU_ASSERT_EQUAL(pgb_chunk_matches(old, 1, 1001, file_data + 1001, 999), 1);
    CU_ASSERT_EQUAL(pgb_chunk_matches(old, 1, 1001, file_data + 1000, 999), 0);
    pgb_file_list_clear(&stored);
    pgb_file_list_clear(&loaded);
}

/* Store text as the file list of backup id, as pgb_file_list_store does. */
static void put_list_text(const char *id, const char *text)
{
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(repo, id, "files", key);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    struct pgb_object_info info;
    CU_ASSERT_EQUAL_FATAL(pgb_object_put(repo->storage, key, &repo->keys, &spec, text, strlen(text), &info), PGB_OK);
}

static void test_format_1_list_loads_unchained(void)
{
    /* As version 1 wrote it: no "links" key, each chunk's 6th field its own SHA-256, any chunk size. */
    uint8_t file_sha[32], first[32], second[32];
    char file_hex[65], first_hex[65], second_hex[65], id0[65], id1[65], pack[33];
    sha256_of(file_data, 2000, file_sha);
    sha256_of(file_data, 1001, first);
    sha256_of(file_data + 1001, 999, second);
    pgb_hex_encode(file_sha, 32, file_hex);
    pgb_hex_encode(first, 32, first_hex);
    pgb_hex_encode(second, 32, second_hex);
    fake_hex(id0, 64, 10);
    fake_hex(id1, 64, 11);
    fake_hex(pack, 32, 12);
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"format_version\":1,\"files\":["
             "{\"path\":\"base\",\"type\":\"directory\",\"mode\":448,\"size\":0,\"mtime\":1700000000},"
             "{\"path\":\"base/1/1259\",\"type\":\"file\",\"mode\":384,\"size\":2000,\"mtime\":1700000001,"
             "\"sha256\":\"%s\",\"chunks\":[[\"%s\",\"%s\",0,120,1001,\"%s\"],[\"%s\",\"%s\",120,110,999,\"%s\"]]}]}",
             file_hex, id0, pack, first_hex, id1, pack, second_hex);
    put_list_text("20250101T000000.000Z-full", text);

    struct pgb_file_list list;
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_load(repo, "20250101T000000.000Z-full", &list), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(list.count, 2);
    CU_ASSERT_EQUAL(list.entries[0].type, PGB_FILE_DIRECTORY);
    const struct pgb_file_entry *e = &list.entries[1];
    CU_ASSERT_STRING_EQUAL(e->path, "base/1/1259");
    CU_ASSERT_EQUAL(e->type, PGB_FILE_REGULAR);
    CU_ASSERT_EQUAL(e->mode, 0600);
    CU_ASSERT_EQUAL(e->size, 2000);
    CU_ASSERT_EQUAL(e->mtime, 1700000001);
    CU_ASSERT_EQUAL(e->chained, 0);
    CU_ASSERT(memcmp(e->sha256, file_sha, 32) == 0);
    CU_ASSERT_EQUAL_FATAL(e->chunk_count, 2);
    CU_ASSERT(memcmp(e->chunks[0].ref.sha256, first, 32) == 0);
    CU_ASSERT(memcmp(e->chunks[1].ref.sha256, second, 32) == 0);
    static const uint8_t zero[32];
    CU_ASSERT(memcmp(e->chunks[0].link, zero, 32) == 0);
    CU_ASSERT(memcmp(e->chunks[1].link, zero, 32) == 0);
    CU_ASSERT_STRING_EQUAL(e->chunks[0].id, id0);
    CU_ASSERT_STRING_EQUAL(e->chunks[1].ref.pack, pack);
    CU_ASSERT_EQUAL(e->chunks[1].ref.offset, 120);
    CU_ASSERT_EQUAL(e->chunks[1].ref.length, 110);
    CU_ASSERT_EQUAL(e->chunks[1].ref.plain_size, 999);
    /* Its chunks are checked by their own SHA-256. */
    CU_ASSERT_EQUAL(pgb_chunk_matches(e, 1, 1001, file_data + 1001, 999), 1);
    CU_ASSERT_EQUAL(pgb_chunk_matches(e, 0, 0, file_data, 1001), 1);
    CU_ASSERT_EQUAL(pgb_chunk_matches(e, 0, 0, file_data + 1, 1001), 0);
    pgb_file_list_clear(&list);
}

/* Store list as backup id and expect its load to be refused as damage naming why. */
static void expect_refused(const char *id, struct pgb_file_list *list, const char *why)
{
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_store(repo, id, list, NULL), PGB_OK);
    struct pgb_file_list loaded;
    CU_ASSERT_EQUAL(pgb_file_list_load(repo, id, &loaded), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), why));
    if (!strstr(pgb_ctx_errmsg(ctx), why))
        fprintf(stderr, "%s: %s\n", id, pgb_ctx_errmsg(ctx));
    /* Nothing half-loaded is left to free or to use. */
    CU_ASSERT_EQUAL(loaded.count, 0);
    CU_ASSERT_PTR_NULL(loaded.entries);
    pgb_file_list_clear(list);
}

static void test_chain_whose_last_link_is_not_the_file_sha256_is_refused(void)
{
    struct pgb_file_list list;
    sample_list(&list);
    list.entries[0].chunks[2].link[0] ^= 0x01;
    expect_refused("20261125T110000.000Z-incr", &list, "last link");
    /* One chunk: its link is the file's digest too. */
    sample_list(&list);
    list.entries[1].sha256[5] ^= 0x40;
    expect_refused("20261125T110001.000Z-incr", &list, "last link");
    /* The same entry unchained is not held to links: its chunks carry SHA-256s. */
    sample_list(&list);
    list.entries[0].chunks[2].link[0] ^= 0x01;
    list.entries[0].chained = 0;
    CU_ASSERT_EQUAL(pgb_file_list_store(repo, "20261125T110002.000Z-incr", &list, NULL), PGB_OK);
    struct pgb_file_list loaded;
    CU_ASSERT_EQUAL(pgb_file_list_load(repo, "20261125T110002.000Z-incr", &loaded), PGB_OK);
    pgb_file_list_clear(&loaded);
    pgb_file_list_clear(&list);
}

static void test_chained_chunk_off_a_block_boundary_is_refused(void)
{
    /* A link after 1000 bytes cannot be resumed from: the chain cannot be checked chunk by chunk. */
    struct pgb_file_list list = {0};
    struct pgb_file_entry e;
    const size_t sizes[] = {1000, 1000};
    regular_entry(&e, "base/1/odd", sizes, 2, 1, 5);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, &list, &e), PGB_OK);
    expect_refused("20261125T120000.000Z-incr", &list, "SHA-256 block");
    /* Only the last chunk may end anywhere. */
    const size_t fine[] = {1024, 1000};
    regular_entry(&e, "base/1/fine", fine, 2, 1, 6);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, &list, &e), PGB_OK);
    CU_ASSERT_EQUAL(pgb_file_list_store(repo, "20261125T120001.000Z-incr", &list, NULL), PGB_OK);
    struct pgb_file_list loaded;
    CU_ASSERT_EQUAL(pgb_file_list_load(repo, "20261125T120001.000Z-incr", &loaded), PGB_OK);
    CU_ASSERT_EQUAL(loaded.count, 1);
    pgb_file_list_clear(&loaded);
    pgb_file_list_clear(&list);
}

static void test_list_of_a_newer_format_is_refused(void)
{
    put_list_text("20261125T130000.000Z-full", "{\"format_version\":3,\"files\":[]}");
    struct pgb_file_list list;
    CU_ASSERT_EQUAL(pgb_file_list_load(repo, "20261125T130000.000Z-full", &list), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "format 3"));
    CU_ASSERT_EQUAL(list.count, 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"format_2_list_comes_back_field_for_field", test_format_2_list_comes_back_field_for_field},
        {"format_1_list_loads_unchained", test_format_1_list_loads_unchained},
        {"chain_whose_last_link_is_not_the_file_sha256_is_refused",
         test_chain_whose_last_link_is_not_the_file_sha256_is_refused},
        {"chained_chunk_off_a_block_boundary_is_refused", test_chained_chunk_off_a_block_boundary_is_refused},
        {"list_of_a_newer_format_is_refused", test_list_of_a_newer_format_is_refused},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"file_list", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
