/*
 * A WAL receiver's side of the archive, without a server: the unfinished
 * segment is stored zero-padded as <segment>.partial, which fetch serves, and
 * is never replaced by less; the complete segment is stored as wal-push
 * stores it, coexists with a push of the same file either way round, and
 * removes the partial; a partial pushed by archive_command is kept; the
 * resume position is the end of the newest segment or receiver's partial.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pg/lsn.h"
#include "pipeline/compress.h"
#include "repo/repo.h"
#include "test_main.h"
#include "wal/wal_file.h"
#include "wal/wal_receive_scan.h"
#include "wal/wal_receive_store.h"
#include "wal/wal_sum.h"
#include "wal_segments.h"

#define SEGMENT_SIZE WAL_TEST_SEGMENT_SIZE

static pgb_ctx *ctx;
static char root[64];
static char folder[256];
static int counter;
static char last_log[1024];

static void keep_last_log(int level, const char *message, void *payload)
{
    (void)level;
    (void)payload;
    snprintf(last_log, sizeof(last_log), "%s", message);
}

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-walrecv-unit-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    pgb_ctx_set_log(ctx, keep_last_log, NULL, PGB_LOG_INFO);
    return 0;
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    char command[256];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    return system(command) != 0;
}

/* A fresh repository, with a store on it for segments of SEGMENT_SIZE. */
struct fixture {
    pgb_storage *storage;
    pgb_repo *repo;
    struct pgb_wal_store store;
};

static void open_fixture(struct fixture *f)
{
    snprintf(folder, sizeof(folder), "%s/repo-%d", root, ++counter);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&f->storage, ctx, folder, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&f->repo, f->storage, NULL), PGB_OK);
    struct pgb_object_spec spec = {.seal = PGB_SEAL_REPOSITORY};
    CU_ASSERT_EQUAL_FATAL(pgb_codec_parse(ctx, "zstd:1", &spec.codec, &spec.level), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_wal_store_open(&f->store, f->repo, &spec, SEGMENT_SIZE), PGB_OK);
}

/* A second store on the same repository: the receiver after a restart. */
static void reopen_store(struct fixture *f)
{
    struct pgb_object_spec spec = f->store.spec;
    pgb_wal_store_close(&f->store);
    CU_ASSERT_EQUAL_FATAL(pgb_wal_store_open(&f->store, f->repo, &spec, SEGMENT_SIZE), PGB_OK);
}

static void close_fixture(struct fixture *f)
{
    pgb_wal_store_close(&f->store);
    pgb_repo_close(f->repo);
    pgb_storage_free(f->storage);
}

static int archived(struct fixture *f, uint32_t timeline, const char *name)
{
    char key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    pgb_wal_archive_key(f->repo, name, timeline, key);
    pgb_wal_sum_key(key, sum_key);
    int object = pgb_storage_stat(f->storage, key, NULL) == PGB_OK;
    int sum = pgb_storage_stat(f->storage, sum_key, NULL) == PGB_OK;
    CU_ASSERT_EQUAL(object, sum); /* an object and its record come and go together */
    return object && sum;
}

/* What fetch gives for name: SEGMENT_SIZE bytes, or NULL. */
static uint8_t *fetch(struct fixture *f, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fetched-%d", root, ++counter);
    if (pgb_wal_fetch(f->repo, name, path) != PGB_OK)
        return NULL;
    size_t size = 0;
    uint8_t *data = wal_test_read(path, &size);
    unlink(path);
    CU_ASSERT_EQUAL(size, SEGMENT_SIZE);
    return data;
}

static int all_zero(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (data[i])
            return 0;
    return 1;
}

static uint64_t received_end(struct fixture *f, const char *name)
{
    char key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    pgb_wal_archive_key(f->repo, name, 1, key);
    pgb_wal_sum_key(key, sum_key);
    struct pgb_wal_sum sum;
    uint64_t end = 0;
    CU_ASSERT_EQUAL(pgb_wal_sum_read_received(f->repo, sum_key, name, &sum, &end), PGB_OK);
    return end;
}

/* Push a file as archive_command would: written under name in a folder of its own. */
static int push(struct fixture *f, const char *name, const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/pg_wal-%d", root, ++counter);
    mkdir(path, 0700);
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", name);
    wal_test_write(path, data, size);
    return pgb_wal_push(f->repo, path);
}

static void test_the_partial_is_zero_padded_and_fetch_serves_it(void)
{
    struct fixture f;
    open_fixture(&f);
    char name[PGB_WAL_NAME_SIZE], partial[64];
    uint8_t *segment = wal_test_segment(1, 5, 1, name);
    snprintf(partial, sizeof(partial), "%s.partial", name);
    uint64_t start = pgb_wal_segment_start(5, SEGMENT_SIZE);

    pgb_wal_store_begin(&f.store, 1, 5, 0);
    CU_ASSERT_EQUAL(f.store.durable, start);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment, 300000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    CU_ASSERT_EQUAL(f.store.durable, start + 300000);
    CU_ASSERT(archived(&f, 1, partial));
    CU_ASSERT_FALSE(archived(&f, 1, name));
    CU_ASSERT_EQUAL(received_end(&f, partial), start + 300000);
    uint8_t *served = fetch(&f, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(served);
    CU_ASSERT_EQUAL(memcmp(served, segment, 300000), 0);
    CU_ASSERT(all_zero(served + 300000, SEGMENT_SIZE - 300000));
    free(served);

    /* More WAL: the partial is replaced by the longer one. */
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment + 300000, 200000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    CU_ASSERT_EQUAL(received_end(&f, partial), start + 500000);
    served = fetch(&f, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(served);
    CU_ASSERT_EQUAL(memcmp(served, segment, 500000), 0);
    free(served);
    free(segment);
    close_fixture(&f);
}

static void test_a_partial_is_never_replaced_by_a_shorter_one(void)
{
    struct fixture f;
    open_fixture(&f);
    char name[PGB_WAL_NAME_SIZE], partial[64];
    uint8_t *segment = wal_test_segment(1, 7, 2, name);
    snprintf(partial, sizeof(partial), "%s.partial", name);
    uint64_t start = pgb_wal_segment_start(7, SEGMENT_SIZE);
    pgb_wal_store_begin(&f.store, 1, 7, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment, 400000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);

    /* Restarted, the receiver streams the segment again from its start; the record tells it how far it got. */
    reopen_store(&f);
    pgb_wal_store_begin(&f.store, 1, 7, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment, 100000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    CU_ASSERT_EQUAL(received_end(&f, partial), start + 400000);
    CU_ASSERT_EQUAL(f.store.durable, start + 400000);
    /* Knowing it from the scan instead, the same. */
    reopen_store(&f);
    pgb_wal_store_begin(&f.store, 1, 7, start + 400000);
    CU_ASSERT_EQUAL(f.store.durable, start + 400000);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment, 200000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    CU_ASSERT_EQUAL(received_end(&f, partial), start + 400000);
    /* Past it, replaced. */
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment + 200000, 250000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    CU_ASSERT_EQUAL(received_end(&f, partial), start + 450000);
    free(segment);
    close_fixture(&f);
}

static void test_the_complete_segment_is_stored_as_wal_push_does_and_the_partial_goes(void)
{
    struct fixture f;
    open_fixture(&f);
    char name[PGB_WAL_NAME_SIZE], partial[64];
    uint8_t *segment = wal_test_segment(1, 9, 3, name);
    snprintf(partial, sizeof(partial), "%s.partial", name);
    pgb_wal_store_begin(&f.store, 1, 9, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment, 100000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment + 100000, SEGMENT_SIZE - 100000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_complete(&f.store), PGB_OK);
    CU_ASSERT_EQUAL(f.store.durable, pgb_wal_segment_start(10, SEGMENT_SIZE));
    CU_ASSERT(archived(&f, 1, name));
    CU_ASSERT_FALSE(archived(&f, 1, partial));
    uint8_t *served = fetch(&f, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(served);
    CU_ASSERT_EQUAL(memcmp(served, segment, SEGMENT_SIZE), 0);
    free(served);
    /* archive_command pushes the same segment afterwards: identical, so it succeeds. */
    CU_ASSERT_EQUAL(push(&f, name, segment, SEGMENT_SIZE), PGB_OK);
    free(segment);
    close_fixture(&f);
}

static void test_a_segment_pushed_first_is_accepted_when_identical_and_refused_when_not(void)
{
    struct fixture f;
    open_fixture(&f);
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = wal_test_segment(1, 11, 4, name);
    CU_ASSERT_EQUAL_FATAL(push(&f, name, segment, SEGMENT_SIZE), PGB_OK);
    pgb_wal_store_begin(&f.store, 1, 11, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment, SEGMENT_SIZE), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_complete(&f.store), PGB_OK);

    /* Another server's segment 12 is archived: the receiver's must not pass for it. */
    char other_name[PGB_WAL_NAME_SIZE];
    uint8_t *other = wal_test_segment(1, 12, 5, other_name);
    uint8_t *mine = wal_test_segment(1, 12, 6, other_name);
    CU_ASSERT_EQUAL_FATAL(push(&f, other_name, other, SEGMENT_SIZE), PGB_OK);
    pgb_wal_store_begin(&f.store, 1, 12, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, mine, SEGMENT_SIZE), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_complete(&f.store), PGB_EEXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "archived already with other content"));
    uint8_t *served = fetch(&f, other_name);
    CU_ASSERT(served && memcmp(served, other, SEGMENT_SIZE) == 0);
    free(served);
    free(mine);
    free(other);
    free(segment);
    close_fixture(&f);
}

/* A promoted server archives its old timeline's last segment as a partial: the receiver leaves it be. */
static void test_a_partial_pushed_by_archive_command_is_kept(void)
{
    struct fixture f;
    open_fixture(&f);
    char name[PGB_WAL_NAME_SIZE], partial[64];
    uint8_t *pushed = wal_test_segment(1, 13, 7, name);
    snprintf(partial, sizeof(partial), "%s.partial", name);
    CU_ASSERT_EQUAL_FATAL(push(&f, partial, pushed, SEGMENT_SIZE), PGB_OK);
    uint8_t *received = wal_test_segment(1, 13, 8, name);
    pgb_wal_store_begin(&f.store, 1, 13, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, received, 50000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_log, "archived by archive_command: it is kept"));
    uint8_t *served = fetch(&f, name);
    CU_ASSERT(served && memcmp(served, pushed, SEGMENT_SIZE) == 0);
    free(served);
    free(received);
    free(pushed);
    close_fixture(&f);
}

/* Between the receiver's two writes fetch looks again; a disagreement that stays is damage, never served. */
static void test_a_partial_whose_record_disagrees_is_not_served(void)
{
    struct fixture f;
    open_fixture(&f);
    char name[PGB_WAL_NAME_SIZE], partial[64], key[PGB_KEY_SIZE];
    uint8_t *segment = wal_test_segment(1, 15, 12, name);
    snprintf(partial, sizeof(partial), "%s.partial", name);
    pgb_wal_store_begin(&f.store, 1, 15, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, segment, 70000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    /* Another partial under the name, its record left as it was. */
    pgb_wal_archive_key(f.repo, partial, 1, key);
    memset(segment + 100, 0x5a, 100);
    CU_ASSERT_EQUAL_FATAL(pgb_object_put(f.storage, key, &f.repo->keys, &f.store.spec, segment, SEGMENT_SIZE, NULL),
                          PGB_OK);
    char path[512];
    snprintf(path, sizeof(path), "%s/not-served", root);
    CU_ASSERT_EQUAL(pgb_wal_fetch(f.repo, name, path), PGB_ECORRUPT);
    CU_ASSERT_FALSE(wal_test_exists(path));
    free(segment);
    close_fixture(&f);
}

static void test_the_scan_finds_where_to_resume(void)
{
    struct fixture f;
    open_fixture(&f);
    struct pgb_wal_receive_start at;
    CU_ASSERT_EQUAL(pgb_wal_receive_scan(f.repo, SEGMENT_SIZE, 1, &at), PGB_OK);
    CU_ASSERT_FALSE(at.found);

    /* Segments 2 and 3 complete on timeline 1: after 3. */
    char name[PGB_WAL_NAME_SIZE];
    for (uint64_t segno = 2; segno <= 3; segno++) {
        uint8_t *segment = wal_test_segment(1, segno, 9, name);
        CU_ASSERT_EQUAL_FATAL(push(&f, name, segment, SEGMENT_SIZE), PGB_OK);
        free(segment);
    }
    CU_ASSERT_EQUAL(pgb_wal_receive_scan(f.repo, SEGMENT_SIZE, 1, &at), PGB_OK);
    CU_ASSERT(at.found && at.timeline == 1 && at.end == pgb_wal_segment_start(4, SEGMENT_SIZE) && !at.partial_end);

    /* The receiver's partial of 4: its end. */
    uint8_t *four = wal_test_segment(1, 4, 10, name);
    pgb_wal_store_begin(&f.store, 1, 4, 0);
    CU_ASSERT_EQUAL(pgb_wal_store_append(&f.store, four, 1000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_store_partial(&f.store), PGB_OK);
    uint64_t end = pgb_wal_segment_start(4, SEGMENT_SIZE) + 1000;
    CU_ASSERT_EQUAL(pgb_wal_receive_scan(f.repo, SEGMENT_SIZE, 1, &at), PGB_OK);
    CU_ASSERT(at.found && at.timeline == 1 && at.end == end && at.partial_end == end);

    /* Timeline 2 further on, but the server is on timeline 1: not counted. */
    uint8_t *later = wal_test_segment(2, 8, 11, name);
    CU_ASSERT_EQUAL_FATAL(push(&f, name, later, SEGMENT_SIZE), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_receive_scan(f.repo, SEGMENT_SIZE, 1, &at), PGB_OK);
    CU_ASSERT(at.timeline == 1 && at.end == end);
    CU_ASSERT_EQUAL(pgb_wal_receive_scan(f.repo, SEGMENT_SIZE, 2, &at), PGB_OK);
    CU_ASSERT(at.timeline == 2 && at.end == pgb_wal_segment_start(9, SEGMENT_SIZE));

    /* archive_command stores segment 4 while the receiver is away: its partial goes, the end is after 4. */
    CU_ASSERT_EQUAL_FATAL(push(&f, "000000010000000000000004", four, SEGMENT_SIZE), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_receive_scan(f.repo, SEGMENT_SIZE, 1, &at), PGB_OK);
    CU_ASSERT(at.end == pgb_wal_segment_start(5, SEGMENT_SIZE) && !at.partial_end);
    CU_ASSERT_FALSE(archived(&f, 1, "000000010000000000000004.partial"));
    free(later);
    free(four);
    close_fixture(&f);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"the_partial_is_zero_padded_and_fetch_serves_it", test_the_partial_is_zero_padded_and_fetch_serves_it},
        {"a_partial_is_never_replaced_by_a_shorter_one", test_a_partial_is_never_replaced_by_a_shorter_one},
        {"the_complete_segment_is_stored_as_wal_push_does_and_the_partial_goes",
         test_the_complete_segment_is_stored_as_wal_push_does_and_the_partial_goes},
        {"a_segment_pushed_first_is_accepted_when_identical_and_refused_when_not",
         test_a_segment_pushed_first_is_accepted_when_identical_and_refused_when_not},
        {"a_partial_pushed_by_archive_command_is_kept", test_a_partial_pushed_by_archive_command_is_kept},
        {"a_partial_whose_record_disagrees_is_not_served", test_a_partial_whose_record_disagrees_is_not_served},
        {"the_scan_finds_where_to_resume", test_the_scan_finds_where_to_resume},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_receive_store", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
