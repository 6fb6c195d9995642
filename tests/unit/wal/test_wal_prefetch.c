/*
 * Prefetch: a wal-fetch with "prefetch" K also fetches the K segments after
 * the requested one into the spool, byte for byte; the next calls are served
 * from there without reaching the repository. Entries of another repository
 * or cluster, and damaged ones, are never served; "not archived" still means
 * exactly that; a partial segment is never prefetched; history files never go
 * through the spool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "test_main.h"
#include "wal_segments.h"

static pgb_ctx *ctx;
static char root[64];
static int counter;

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-prefetch-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    char home[128];
    snprintf(home, sizeof(home), "%s/home", root);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    unsetenv("XDG_CONFIG_HOME");
    return 0;
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    char command[256];
    snprintf(command, sizeof(command), "chmod -R u+rwX '%s'; rm -rf '%s'", root, root);
    return system(command) != 0;
}

/* A repository holding segments, and the pg_wal of a server in recovery. */
struct archive {
    char dir[256];
    char repo_path[300];
    char pg_wal[300];
    char spool[320];
    char destination[320]; /* pg_wal/RECOVERYXLOG, as restore_command's %p */
    pgb_storage *storage;
    pgb_repo *repo;
    uint8_t *segments[256];
};

static void open_archive(struct archive *a, const char *name, const char *const *pairs)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->dir, sizeof(a->dir), "%s/%s-%d", root, name, ++counter);
    mkdir(a->dir, 0700);
    snprintf(a->repo_path, sizeof(a->repo_path), "%s/repo", a->dir);
    snprintf(a->pg_wal, sizeof(a->pg_wal), "%s/pg_wal", a->dir);
    snprintf(a->spool, sizeof(a->spool), "%s/pgbackup.spool", a->pg_wal);
    snprintf(a->destination, sizeof(a->destination), "%s/RECOVERYXLOG", a->pg_wal);
    mkdir(a->pg_wal, 0700);
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&a->storage, ctx, a->repo_path, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&a->repo, a->storage, o), PGB_OK);
    pgb_options_free(o);
}

static void close_archive(struct archive *a)
{
    pgb_repo_close(a->repo);
    pgb_storage_free(a->storage);
    for (size_t i = 0; i < 256; i++)
        free(a->segments[i]);
}

static void name_of(uint64_t segno, char name[PGB_WAL_NAME_SIZE])
{
    pgb_wal_segment_name(1, segno, WAL_TEST_SEGMENT_SIZE, name);
}

/* Archive segments first..last of timeline 1 (content from seed), through a folder of their own. */
static void archive_segments(struct archive *a, uint64_t first, uint64_t last, unsigned seed)
{
    char folder[400], path[512], name[PGB_WAL_NAME_SIZE];
    snprintf(folder, sizeof(folder), "%s/source", a->dir);
    for (uint64_t segno = first; segno <= last; segno++) {
        free(a->segments[segno]);
        a->segments[segno] = wal_test_segment(1, segno, seed + (unsigned)segno, name);
        wal_test_put(folder, name, a->segments[segno], WAL_TEST_SEGMENT_SIZE, 0, path);
        CU_ASSERT_EQUAL_FATAL(pgb_wal_push(a->repo, path), PGB_OK);
    }
}

static int fetch(struct archive *a, uint64_t segno, const char *prefetch)
{
    char name[PGB_WAL_NAME_SIZE];
    name_of(segno, name);
    if (!prefetch)
        return pgb_wal_fetch(a->repo, name, a->destination);
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, "prefetch", prefetch), PGB_OK);
    int rc = pgb_wal_fetch_with_options(a->repo, name, a->destination, o);
    pgb_options_free(o);
    return rc;
}

/* Whether the spool holds segno, byte for byte as archived (NULL data: holds it at all). */
static int spooled(const struct archive *a, uint64_t segno, const uint8_t *data)
{
    char name[PGB_WAL_NAME_SIZE], path[512], marker[512];
    name_of(segno, name);
    snprintf(path, sizeof(path), "%s/%s.segment", a->spool, name);
    snprintf(marker, sizeof(marker), "%s/%s.fetched", a->spool, name);
    if (!wal_test_exists(marker))
        return 0;
    return data ? wal_test_holds(path, data, WAL_TEST_SEGMENT_SIZE) : wal_test_exists(path);
}

static void move_repository(const struct archive *a, int away)
{
    char elsewhere[400];
    snprintf(elsewhere, sizeof(elsewhere), "%s.away", a->repo_path);
    CU_ASSERT_EQUAL_FATAL(away ? rename(a->repo_path, elsewhere) : rename(elsewhere, a->repo_path), 0);
}

static void test_prefetched_segments_are_byte_identical_and_served_without_the_repository(void)
{
    struct archive a;
    open_archive(&a, "served", NULL);
    archive_segments(&a, 0x20, 0x27, 1);
    CU_ASSERT_EQUAL(fetch(&a, 0x20, "4"), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, a.segments[0x20], WAL_TEST_SEGMENT_SIZE));
    for (uint64_t segno = 0x21; segno <= 0x24; segno++)
        CU_ASSERT(spooled(&a, segno, a.segments[segno]));
    CU_ASSERT_FALSE(spooled(&a, 0x25, NULL));

    /* With the repository gone, the prefetched ones still come, each exactly, and leave the spool. */
    move_repository(&a, 1);
    CU_ASSERT_EQUAL(fetch(&a, 0x21, NULL), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, a.segments[0x21], WAL_TEST_SEGMENT_SIZE));
    CU_ASSERT_FALSE(spooled(&a, 0x21, NULL));
    /* Skipping one (recovery asks in order; older entries go). */
    CU_ASSERT_EQUAL(fetch(&a, 0x23, "4"), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, a.segments[0x23], WAL_TEST_SEGMENT_SIZE));
    CU_ASSERT_FALSE(spooled(&a, 0x22, NULL));
    CU_ASSERT(spooled(&a, 0x24, a.segments[0x24]));
    /* One that was not prefetched does need the repository: the calls above really did without it. */
    CU_ASSERT_NOT_EQUAL(fetch(&a, 0x25, NULL), PGB_OK);
    move_repository(&a, 0);

    /* No temporary file is left behind in the spool or in pg_wal. */
    char command[800];
    snprintf(command, sizeof(command), "test -z \"$(ls -A '%s' '%s' | grep -e '^\\.' -e pgbackup-)\"", a.spool,
             a.pg_wal);
    CU_ASSERT_EQUAL(system(command), 0);
    close_archive(&a);
}

static void test_prefetch_stops_at_the_end_of_the_archive_and_never_takes_a_partial(void)
{
    struct archive a;
    open_archive(&a, "end", NULL);
    archive_segments(&a, 0x30, 0x31, 1);
    /* Segment 0x32 archived only as a partial segment, as at a promotion. */
    char name[PGB_WAL_NAME_SIZE], partial[64], folder[400], path[512];
    a.segments[0x32] = wal_test_segment(1, 0x32, 7, name);
    snprintf(partial, sizeof(partial), "%s.partial", name);
    snprintf(folder, sizeof(folder), "%s/source", a.dir);
    wal_test_put(folder, partial, a.segments[0x32], WAL_TEST_SEGMENT_SIZE, 0, path);
    CU_ASSERT_EQUAL_FATAL(pgb_wal_push(a.repo, path), PGB_OK);

    CU_ASSERT_EQUAL(fetch(&a, 0x30, "8"), PGB_OK);
    CU_ASSERT(spooled(&a, 0x31, a.segments[0x31]));
    CU_ASSERT_FALSE(spooled(&a, 0x32, NULL));
    CU_ASSERT_FALSE(spooled(&a, 0x33, NULL));
    CU_ASSERT_EQUAL(fetch(&a, 0x31, "8"), PGB_OK);
    CU_ASSERT_FALSE(spooled(&a, 0x32, NULL));
    /* Asked for itself, the partial is served from the repository, as always. */
    CU_ASSERT_EQUAL(fetch(&a, 0x32, "8"), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, a.segments[0x32], WAL_TEST_SEGMENT_SIZE));
    CU_ASSERT_FALSE(spooled(&a, 0x33, NULL));

    /* Not archived is still exactly that, with the destination left as it was. */
    CU_ASSERT_EQUAL(unlink(a.destination), 0);
    CU_ASSERT_EQUAL(fetch(&a, 0x33, "8"), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "000000010000000000000033 is not archived"));
    CU_ASSERT_FALSE(wal_test_exists(a.destination));
    close_archive(&a);
}

static void test_entries_of_another_repository_or_cluster_or_damaged_are_not_served(void)
{
    struct archive a, b;
    open_archive(&a, "first", NULL);
    open_archive(&b, "second", NULL);
    archive_segments(&a, 0x40, 0x43, 1);
    archive_segments(&b, 0x40, 0x43, 100); /* same names, other content */
    CU_ASSERT_EQUAL(fetch(&a, 0x40, "3"), PGB_OK);
    CU_ASSERT(spooled(&a, 0x41, a.segments[0x41]) && spooled(&a, 0x42, a.segments[0x42]));

    /* Repository b recovering into the same pg_wal: it gets its own content, never a's. */
    memcpy(b.destination, a.destination, sizeof(b.destination));
    CU_ASSERT_EQUAL(fetch(&b, 0x41, NULL), PGB_OK);
    CU_ASSERT(wal_test_holds(b.destination, b.segments[0x41], WAL_TEST_SEGMENT_SIZE));
    CU_ASSERT(spooled(&a, 0x41, a.segments[0x41])); /* left to its owner */

    /* Another cluster of repository a: not its entries either. */
    const char *pairs[] = {"cluster", "other", NULL};
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[0], pairs[1]), PGB_OK);
    pgb_repo *other = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&other, a.storage, o), PGB_OK);
    char name[PGB_WAL_NAME_SIZE];
    name_of(0x41, name);
    CU_ASSERT_EQUAL(pgb_wal_fetch(other, name, a.destination), PGB_ENOTFOUND);
    CU_ASSERT(spooled(&a, 0x41, a.segments[0x41]));
    pgb_repo_close(other);
    pgb_options_free(o);

    /* A damaged spooled copy: fetched again from the repository, exactly, and the bad copy gone. */
    char path[512];
    name_of(0x42, name);
    snprintf(path, sizeof(path), "%s/%s.segment", a.spool, name);
    size_t size = 0;
    uint8_t *held = wal_test_read(path, &size);
    CU_ASSERT_FATAL(held != NULL && size == WAL_TEST_SEGMENT_SIZE);
    held[size / 2] ^= 0x01;
    wal_test_write(path, held, size);
    CU_ASSERT_EQUAL(fetch(&a, 0x42, NULL), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, a.segments[0x42], WAL_TEST_SEGMENT_SIZE));
    CU_ASSERT_FALSE(wal_test_exists(path));

    /* A damaged one, with the repository out of reach: a failure, never the damaged bytes. */
    CU_ASSERT_EQUAL(fetch(&a, 0x42, "1"), PGB_OK); /* prefetches 0x43 */
    name_of(0x43, name);
    snprintf(path, sizeof(path), "%s/%s.segment", a.spool, name);
    wal_test_write(path, held, size);
    move_repository(&a, 1);
    CU_ASSERT_NOT_EQUAL(fetch(&a, 0x43, NULL), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, a.segments[0x42], WAL_TEST_SEGMENT_SIZE));
    move_repository(&a, 0);
    free(held);
    close_archive(&a);
    close_archive(&b);
}

static void test_history_files_never_go_through_the_spool(void)
{
    struct archive a;
    open_archive(&a, "history", NULL);
    archive_segments(&a, 0x50, 0x51, 1);
    const char history[] = "1\t0/50000000\tno recovery target specified\n";
    char folder[400], path[512];
    snprintf(folder, sizeof(folder), "%s/source", a.dir);
    wal_test_put(folder, "00000002.history", history, sizeof(history) - 1, 0, path);
    CU_ASSERT_EQUAL_FATAL(pgb_wal_push(a.repo, path), PGB_OK);
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, "prefetch", "4"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_fetch_with_options(a.repo, "00000002.history", a.destination, o), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, history, sizeof(history) - 1));
    CU_ASSERT_EQUAL(pgb_wal_fetch_with_options(a.repo, "00000003.history", a.destination, o), PGB_ENOTFOUND);
    CU_ASSERT_FALSE(wal_test_exists(a.spool));

    /* The spool-dir option puts the spool where it says. */
    char spool[400];
    snprintf(spool, sizeof(spool), "%s/my-spool", a.dir);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, "spool-dir", spool), PGB_OK);
    char name[PGB_WAL_NAME_SIZE];
    name_of(0x50, name);
    CU_ASSERT_EQUAL(pgb_wal_fetch_with_options(a.repo, name, a.destination, o), PGB_OK);
    name_of(0x51, name);
    snprintf(path, sizeof(path), "%s/%s.segment", spool, name);
    CU_ASSERT(wal_test_holds(path, a.segments[0x51], WAL_TEST_SEGMENT_SIZE));
    CU_ASSERT_FALSE(wal_test_exists(a.spool));
    pgb_options_free(o);
    close_archive(&a);
}

static void test_an_encrypted_repository_prefetches_what_it_authenticates(void)
{
    char pass[400];
    snprintf(pass, sizeof(pass), "%s/pass-%d", root, ++counter);
    wal_test_write(pass, "prefetch test passphrase\n", 25);
    chmod(pass, 0600);
    const char *pairs[] = {"passphrase-file", pass, NULL};
    struct archive a;
    open_archive(&a, "encrypted", pairs);
    archive_segments(&a, 0x60, 0x62, 1);
    CU_ASSERT_EQUAL(fetch(&a, 0x60, "2"), PGB_OK);
    CU_ASSERT(spooled(&a, 0x61, a.segments[0x61]) && spooled(&a, 0x62, a.segments[0x62]));
    move_repository(&a, 1);
    CU_ASSERT_EQUAL(fetch(&a, 0x61, NULL), PGB_OK);
    CU_ASSERT(wal_test_holds(a.destination, a.segments[0x61], WAL_TEST_SEGMENT_SIZE));
    move_repository(&a, 0);
    close_archive(&a);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"prefetched_segments_are_byte_identical_and_served_without_the_repository",
         test_prefetched_segments_are_byte_identical_and_served_without_the_repository},
        {"prefetch_stops_at_the_end_of_the_archive_and_never_takes_a_partial",
         test_prefetch_stops_at_the_end_of_the_archive_and_never_takes_a_partial},
        {"entries_of_another_repository_or_cluster_or_damaged_are_not_served",
         test_entries_of_another_repository_or_cluster_or_damaged_are_not_served},
        {"history_files_never_go_through_the_spool", test_history_files_never_go_through_the_spool},
        {"an_encrypted_repository_prefetches_what_it_authenticates",
         test_an_encrypted_repository_prefetches_what_it_authenticates},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_prefetch", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
