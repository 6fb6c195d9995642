/*
 * pgb_physical_check_received, the last check of a stream backup before it
 * commits: the files received (a file list with their SHA-256) against the
 * server's backup_manifest, written here with our manifest writer from the
 * same made-up file contents. Equal lists pass, whatever their order, and
 * folders and links are not files to compare; a changed SHA-256 or size, a
 * file the manifest does not know and a manifest file never received each
 * fail with PGB_ECORRUPT naming that file, as does receiving nothing; a CRC-32C manifest compares sizes
 * only; a truncated manifest is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/sha.h>

#include <pgbackup/pgbackup.h>

#include "backup/job.h"
#include "backup/physical_common.h"
#include "manifest/checksum.h"
#include "manifest/manifest.h"
#include "repo/file_list.h"
#include "test_main.h"

#define MTIME ((time_t)1764064800) /* 2025-11-25 10:00:00 GMT */
#define SYSTEM_IDENTIFIER UINT64_C(7441234567890123456)

struct fake_file {
    const char *path;
    size_t size;
    unsigned seed;
};

/* What the server sent, in the server's (not sorted) order. */
static const struct fake_file sent[] = {
    {"PG_VERSION", 3, 1},
    {"global/pg_control", 8192, 2},
    {"base/1/1259", 3 * 8192, 3},
};
#define SENT_COUNT (sizeof(sent) / sizeof(sent[0]))

/* Files that are not among those sent, for the lists that differ. */
static const struct fake_file unlisted = {"pg_xact/0000", 8192, 4};
static const struct fake_file unreceived = {"pg_multixact/offsets/0000", 8192, 5};

static pgb_ctx *ctx;
static struct pgb_job job;

static int setup(void)
{
    if (pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    job.ctx = ctx; /* the only member the check uses */
    return 0;
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

/* The made-up bytes of a file (malloc'd; at least one byte so that size 0 still allocates). */
static uint8_t *file_bytes(const struct fake_file *f)
{
    uint8_t *data = malloc(f->size + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    for (size_t i = 0; i < f->size; i++)
        data[i] = (uint8_t)((i * 131 + f->seed * 17) >> 2);
    return data;
}

static void append_entry(struct pgb_file_list *list, const char *path, int type, uint64_t size,
                         const uint8_t *sha256, const char *link)
{
    struct pgb_file_entry e;
    memset(&e, 0, sizeof(e));
    e.path = strdup(path);
    e.type = type;
    e.mode = type == PGB_FILE_DIRECTORY ? 0700 : 0600;
    e.size = size;
    e.mtime = MTIME;
    if (sha256)
        memcpy(e.sha256, sha256, 32);
    if (link)
        e.link = strdup(link);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e.path);
    CU_ASSERT_EQUAL_FATAL(pgb_file_list_append(ctx, list, &e), PGB_OK);
}

static void append_file(struct pgb_file_list *list, const struct fake_file *f)
{
    /* SHA-256 by OpenSSL, not by the library under test. */
    uint8_t *data = file_bytes(f);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(data, f->size, digest);
    free(data);
    append_entry(list, f->path, PGB_FILE_REGULAR, f->size, digest, NULL);
}

/*
 * The list a stream backup builds from what it received: folders and a
 * tablespace link among the files, which the manifest never lists.
 */
static void make_list(struct pgb_file_list *list)
{
    memset(list, 0, sizeof(*list));
    append_entry(list, "global", PGB_FILE_DIRECTORY, 0, NULL, NULL);
    append_file(list, &sent[1]);
    append_entry(list, "base", PGB_FILE_DIRECTORY, 0, NULL, NULL);
    append_entry(list, "base/1", PGB_FILE_DIRECTORY, 0, NULL, NULL);
    append_file(list, &sent[2]);
    append_file(list, &sent[0]);
    append_entry(list, "pg_tblspc/16385", PGB_FILE_SYMLINK, 0, NULL, "/srv/tablespace");
}

/* The entry of list for path, to damage it. */
static struct pgb_file_entry *entry_of(struct pgb_file_list *list, const char *path)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->entries[i].path, path) == 0)
            return &list->entries[i];
    CU_FAIL_FATAL("no such entry");
    return NULL;
}

/* A manifest of files (checksums of type computed from their bytes) and one WAL range; free() it. */
static char *make_manifest(int version, enum pgb_checksum_type type, const struct fake_file *const *files,
                           size_t count, size_t *size)
{
    struct pgb_manifest_writer *writer = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_new(ctx, version, version == 2 ? SYSTEM_IDENTIFIER : 0, &writer),
                          PGB_OK);
    for (size_t i = 0; i < count; i++) {
        uint8_t *data = file_bytes(files[i]);
        struct pgb_checksum checksum;
        uint8_t value[PGB_CHECKSUM_MAX_SIZE];
        size_t value_size = 0;
        CU_ASSERT_EQUAL_FATAL(pgb_checksum_init(&checksum, type), PGB_OK);
        CU_ASSERT_EQUAL_FATAL(pgb_checksum_update(&checksum, data, files[i]->size), PGB_OK);
        CU_ASSERT_EQUAL_FATAL(pgb_checksum_final(&checksum, value, &value_size), PGB_OK);
        CU_ASSERT_EQUAL(value_size, pgb_checksum_type_size(type));
        free(data);
        CU_ASSERT_EQUAL_FATAL(
            pgb_manifest_writer_add_file(writer, files[i]->path, files[i]->size, MTIME, type, value), PGB_OK);
    }
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_add_wal_range(writer, 1, UINT64_C(0x2000028), UINT64_C(0x2000100)),
                          PGB_OK);
    char *text = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_manifest_writer_finish(writer, &text, size), PGB_OK);
    pgb_manifest_writer_free(writer);
    return text;
}

/* The manifest of exactly the files sent. */
static char *sent_manifest(int version, enum pgb_checksum_type type, size_t *size)
{
    const struct fake_file *files[] = {&sent[0], &sent[1], &sent[2]};
    return make_manifest(version, type, files, SENT_COUNT, size);
}

/* rc is PGB_ECORRUPT and the message names path, and no other file, and says the backup is not committed. */
static void assert_refused(int rc, const char *path)
{
    const char *message = pgb_ctx_errmsg(ctx);
    CU_ASSERT_EQUAL(rc, PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(message);
    CU_ASSERT_PTR_NOT_NULL(strstr(message, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "not committed"));
    const char *others[] = {sent[0].path, sent[1].path, sent[2].path, unlisted.path, unreceived.path};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (strcmp(others[i], path) != 0)
            CU_ASSERT_PTR_NULL(strstr(message, others[i]));
}

static void test_received_files_equal_to_the_manifest_pass(void)
{
    struct pgb_file_list list;
    make_list(&list);
    size_t size = 0;
    char *manifest = sent_manifest(2, PGB_CHECKSUM_SHA256, &size);
    CU_ASSERT_EQUAL(pgb_physical_check_received(&job, &list, manifest, size), PGB_OK);
    free(manifest);
    pgb_file_list_clear(&list);
}

static void test_one_bit_of_a_sha256_refuses_the_backup(void)
{
    struct pgb_file_list list;
    make_list(&list);
    entry_of(&list, "base/1/1259")->sha256[17] ^= 0x08;
    size_t size = 0;
    char *manifest = sent_manifest(2, PGB_CHECKSUM_SHA256, &size);
    assert_refused(pgb_physical_check_received(&job, &list, manifest, size), "base/1/1259");
    free(manifest);
    pgb_file_list_clear(&list);
}

static void test_another_size_refuses_the_backup(void)
{
    struct pgb_file_list list;
    make_list(&list);
    entry_of(&list, "global/pg_control")->size += 1;
    size_t size = 0;
    char *manifest = sent_manifest(2, PGB_CHECKSUM_SHA256, &size);
    assert_refused(pgb_physical_check_received(&job, &list, manifest, size), "global/pg_control");
    free(manifest);
    pgb_file_list_clear(&list);
}

static void test_file_the_manifest_does_not_list_refuses_the_backup(void)
{
    struct pgb_file_list list;
    make_list(&list);
    append_file(&list, &unlisted);
    size_t size = 0;
    char *manifest = sent_manifest(2, PGB_CHECKSUM_SHA256, &size);
    assert_refused(pgb_physical_check_received(&job, &list, manifest, size), unlisted.path);
    free(manifest);
    pgb_file_list_clear(&list);
}

static void test_manifest_file_not_received_refuses_the_backup(void)
{
    struct pgb_file_list list;
    make_list(&list);
    /* Listed between two received files, so that neither end of the sorted list hides it. */
    const struct fake_file *files[] = {&sent[0], &sent[1], &unreceived, &sent[2]};
    size_t size = 0;
    char *manifest = make_manifest(2, PGB_CHECKSUM_SHA256, files, 4, &size);
    assert_refused(pgb_physical_check_received(&job, &list, manifest, size), unreceived.path);
    free(manifest);
    pgb_file_list_clear(&list);
}

static void test_crc32c_manifest_compares_sizes_only(void)
{
    struct pgb_file_list list;
    make_list(&list);
    size_t size = 0;
    /* What PostgreSQL 13 to 16 write by default: version 1, CRC-32C. */
    char *manifest = sent_manifest(1, PGB_CHECKSUM_CRC32C, &size);
    CU_ASSERT_PTR_NOT_NULL(strstr(manifest, "\"Checksum-Algorithm\": \"CRC32C\""));
    CU_ASSERT_EQUAL(pgb_physical_check_received(&job, &list, manifest, size), PGB_OK);
    /* A SHA-256 the manifest cannot contradict changes nothing... */
    entry_of(&list, "PG_VERSION")->sha256[0] ^= 0x01;
    CU_ASSERT_EQUAL(pgb_physical_check_received(&job, &list, manifest, size), PGB_OK);
    /* ...but sizes still count. */
    entry_of(&list, "PG_VERSION")->size = 2;
    assert_refused(pgb_physical_check_received(&job, &list, manifest, size), "PG_VERSION");
    free(manifest);
    pgb_file_list_clear(&list);
}

static void test_truncated_manifest_is_refused(void)
{
    struct pgb_file_list list;
    make_list(&list);
    size_t size = 0;
    char *manifest = sent_manifest(2, PGB_CHECKSUM_SHA256, &size);
    /* Half of it: broken JSON; all but the last "}\n": no end, whatever a lenient reader makes of it. */
    CU_ASSERT_NOT_EQUAL(pgb_physical_check_received(&job, &list, manifest, size / 2), PGB_OK);
    CU_ASSERT_NOT_EQUAL(pgb_physical_check_received(&job, &list, manifest, size - 2), PGB_OK);
    free(manifest);
    pgb_file_list_clear(&list);
}

static void test_nothing_received_refuses_the_backup(void)
{
    /* A stream that ended before its first file: only a folder, then nothing at all. */
    struct pgb_file_list list;
    memset(&list, 0, sizeof(list));
    append_entry(&list, "global", PGB_FILE_DIRECTORY, 0, NULL, NULL);
    size_t size = 0;
    char *manifest = sent_manifest(2, PGB_CHECKSUM_SHA256, &size);
    assert_refused(pgb_physical_check_received(&job, &list, manifest, size), sent[0].path);
    /* An empty list has no entries array at all: nothing to search must still be "not received". */
    pgb_file_list_clear(&list);
    assert_refused(pgb_physical_check_received(&job, &list, manifest, size), sent[0].path);
    free(manifest);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"received_files_equal_to_the_manifest_pass", test_received_files_equal_to_the_manifest_pass},
        {"one_bit_of_a_sha256_refuses_the_backup", test_one_bit_of_a_sha256_refuses_the_backup},
        {"another_size_refuses_the_backup", test_another_size_refuses_the_backup},
        {"file_the_manifest_does_not_list_refuses_the_backup",
         test_file_the_manifest_does_not_list_refuses_the_backup},
        {"manifest_file_not_received_refuses_the_backup", test_manifest_file_not_received_refuses_the_backup},
        {"crc32c_manifest_compares_sizes_only", test_crc32c_manifest_compares_sizes_only},
        {"truncated_manifest_is_refused", test_truncated_manifest_is_refused},
        {"nothing_received_refuses_the_backup", test_nothing_received_refuses_the_backup},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"check_received", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
