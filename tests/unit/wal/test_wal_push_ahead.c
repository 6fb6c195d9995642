/*
 * Push-ahead: a wal-push with jobs 2 or more also archives the segments the
 * server has ready after the file, as durably as their own calls would, and
 * marks them in the spool; the server's later call for such a segment returns
 * at once without reaching the repository. Markers that do not prove
 * themselves (other content, another repository, torn) are ignored, and a
 * failure ahead never fails the file's own push.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "repo/repo.h"
#include "test_main.h"
#include "wal_segments.h"

static pgb_ctx *ctx;
static char root[64];
static int counter;
static char logged[8192];

static void keep_log(int level, const char *message, void *payload)
{
    (void)payload;
    size_t used = strlen(logged);
    snprintf(logged + used, sizeof(logged) - used, "%s: %s\n", pgb_log_level_name(level), message);
}

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-ahead-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    char home[128];
    snprintf(home, sizeof(home), "%s/home", root);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    unsetenv("XDG_CONFIG_HOME");
    return pgb_ctx_set_log(ctx, keep_log, NULL, PGB_LOG_DEBUG) != PGB_OK;
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    char command[256];
    snprintf(command, sizeof(command), "chmod -R u+rwX '%s'; rm -rf '%s'", root, root);
    return system(command) != 0;
}

/* A plain repository and an empty pg_wal in a fresh folder. */
struct server {
    char dir[256];
    char repo_path[300];
    char pg_wal[300];
    char spool[320];
    pgb_storage *storage;
    pgb_repo *repo;
    uint8_t *segments[256]; /* content by segment number, for the ones written */
};

static void start(struct server *s, const char *name)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "%s/%s-%d", root, name, ++counter);
    mkdir(s->dir, 0700);
    snprintf(s->repo_path, sizeof(s->repo_path), "%s/repo", s->dir);
    snprintf(s->pg_wal, sizeof(s->pg_wal), "%s/pg_wal", s->dir);
    snprintf(s->spool, sizeof(s->spool), "%s/pgbackup.spool", s->pg_wal);
    mkdir(s->pg_wal, 0700);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s->storage, ctx, s->repo_path, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&s->repo, s->storage, NULL), PGB_OK);
    logged[0] = '\0';
}

static void stop(struct server *s)
{
    pgb_repo_close(s->repo);
    pgb_storage_free(s->storage);
    for (size_t i = 0; i < 256; i++)
        free(s->segments[i]);
}

/* Segment segno of timeline 1 in pg_wal, ready or not; its name into name. */
static void put(struct server *s, uint64_t segno, unsigned seed, int ready, char name[PGB_WAL_NAME_SIZE])
{
    char path[512];
    free(s->segments[segno]);
    s->segments[segno] = wal_test_segment(1, segno, seed, name);
    wal_test_put(s->pg_wal, name, s->segments[segno], WAL_TEST_SEGMENT_SIZE, ready, path);
}

static void segment_path(const struct server *s, uint64_t segno, char path[512])
{
    char name[PGB_WAL_NAME_SIZE];
    pgb_wal_segment_name(1, segno, WAL_TEST_SEGMENT_SIZE, name);
    snprintf(path, 512, "%s/%s", s->pg_wal, name);
}

static int archived(const struct server *s, uint64_t segno)
{
    char name[PGB_WAL_NAME_SIZE], key[PGB_KEY_SIZE];
    pgb_wal_segment_name(1, segno, WAL_TEST_SEGMENT_SIZE, name);
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s", name);
    int object = pgb_storage_stat(s->storage, key, NULL) == PGB_OK;
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s.sum", name);
    return object && pgb_storage_stat(s->storage, key, NULL) == PGB_OK;
}

static int marked(const char *spool, uint64_t segno)
{
    char name[PGB_WAL_NAME_SIZE], path[512];
    pgb_wal_segment_name(1, segno, WAL_TEST_SEGMENT_SIZE, name);
    snprintf(path, sizeof(path), "%s/%s.pushed", spool, name);
    return wal_test_exists(path);
}

static pgb_options *options(const char *const *pairs)
{
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    return o;
}

static int push(const struct server *s, uint64_t segno, const char *const *pairs)
{
    char path[512];
    segment_path(s, segno, path);
    pgb_options *o = pairs ? options(pairs) : NULL;
    int rc = pgb_wal_push_with_options(s->repo, path, o);
    pgb_options_free(o);
    return rc;
}

/* The repository out of reach, as an unmounted volume would be: renamed away (back with reach()). */
static void unreach(const struct server *s)
{
    char away[400];
    snprintf(away, sizeof(away), "%s.away", s->repo_path);
    CU_ASSERT_EQUAL_FATAL(rename(s->repo_path, away), 0);
}

static void reach(const struct server *s)
{
    char away[400];
    snprintf(away, sizeof(away), "%s.away", s->repo_path);
    CU_ASSERT_EQUAL_FATAL(rename(away, s->repo_path), 0);
}

static void test_push_ahead_archives_the_ready_segments_after_the_file_and_later_calls_need_no_repository(void)
{
    struct server s;
    start(&s, "ahead");
    char name[PGB_WAL_NAME_SIZE], path[512];
    put(&s, 0x0F, 1, 1, name); /* ready, but before the file pushed: its own call comes first */
    for (uint64_t segno = 0x10; segno <= 0x1A; segno++)
        put(&s, segno, (unsigned)segno, 1, name);
    put(&s, 0x1B, 1, 0, name); /* not ready yet: the server may still be writing it */
    const char history[] = "1\t0/1B000000\tno recovery target specified\n";
    wal_test_put(s.pg_wal, "00000002.history", history, sizeof(history) - 1, 1, path);
    char partial[64];
    snprintf(partial, sizeof(partial), "%s.partial", name);
    wal_test_put(s.pg_wal, partial, s.segments[0x1B], WAL_TEST_SEGMENT_SIZE, 1, path);

    const char *pairs[] = {"jobs", "2", NULL};
    CU_ASSERT_EQUAL(push(&s, 0x10, pairs), PGB_OK);
    /* The file itself, and the 4 x jobs = 8 ready segments after it: archived, each with its record. */
    for (uint64_t segno = 0x10; segno <= 0x18; segno++) {
        CU_ASSERT(archived(&s, segno));
        CU_ASSERT_EQUAL(marked(s.spool, segno), segno != 0x10);
    }
    CU_ASSERT_FALSE(archived(&s, 0x19)); /* past the limit */
    CU_ASSERT_FALSE(archived(&s, 0x0F));
    CU_ASSERT_FALSE(archived(&s, 0x1B));
    CU_ASSERT_EQUAL(pgb_storage_stat(s.storage, "clusters/main/wal/00000002/00000002.history", NULL), PGB_ENOTFOUND);
    char destination[400];
    snprintf(destination, sizeof(destination), "%s/fetched", s.dir);
    pgb_wal_segment_name(1, 0x15, WAL_TEST_SEGMENT_SIZE, name);
    CU_ASSERT_EQUAL(pgb_wal_fetch(s.repo, name, destination), PGB_OK);
    CU_ASSERT(wal_test_holds(destination, s.segments[0x15], WAL_TEST_SEGMENT_SIZE));

    /* The server's calls for them: answered by the markers alone, even with the repository gone, and without jobs. */
    unreach(&s);
    for (uint64_t segno = 0x11; segno <= 0x18; segno++) {
        CU_ASSERT_EQUAL(push(&s, segno, NULL), PGB_OK);
        CU_ASSERT_FALSE(marked(s.spool, segno));
    }
    /* A segment nobody pushed ahead does need the repository: the calls above really did without it. */
    CU_ASSERT_NOT_EQUAL(push(&s, 0x19, NULL), PGB_OK);
    reach(&s);
    CU_ASSERT_EQUAL(push(&s, 0x19, pairs), PGB_OK);
    CU_ASSERT(archived(&s, 0x1A) && marked(s.spool, 0x1A));
    stop(&s);
}

static void test_a_marker_that_does_not_prove_itself_is_ignored(void)
{
    struct server s;
    start(&s, "mismatch");
    char name[PGB_WAL_NAME_SIZE], marker[600];
    for (uint64_t segno = 0x20; segno <= 0x24; segno++)
        put(&s, segno, 1, 1, name);
    const char *pairs[] = {"jobs", "4", NULL};
    CU_ASSERT_EQUAL(push(&s, 0x20, pairs), PGB_OK);
    for (uint64_t segno = 0x21; segno <= 0x24; segno++)
        CU_ASSERT_FATAL(marked(s.spool, segno));

    /* Other content under the name than the marker records: pushed as usual, so refused as a conflict. */
    put(&s, 0x21, 2, 1, name);
    CU_ASSERT_EQUAL(push(&s, 0x21, NULL), PGB_EEXISTS);
    CU_ASSERT_FALSE(marked(s.spool, 0x21));

    /* A marker edited (its SHA-256) or torn: not trusted, so the call needs the repository. */
    pgb_wal_segment_name(1, 0x22, WAL_TEST_SEGMENT_SIZE, name);
    snprintf(marker, sizeof(marker), "%s/%s.pushed", s.spool, name);
    size_t size = 0;
    uint8_t *text = wal_test_read(marker, &size);
    CU_ASSERT_FATAL(text != NULL && size > 100);
    char *sha = strstr((char *)text, "sha256 ");
    CU_ASSERT_FATAL(sha != NULL);
    sha[7] = sha[7] == '0' ? '1' : '0';
    wal_test_write(marker, text, size);
    pgb_wal_segment_name(1, 0x23, WAL_TEST_SEGMENT_SIZE, name);
    snprintf(marker, sizeof(marker), "%s/%s.pushed", s.spool, name);
    uint8_t *whole = wal_test_read(marker, &size);
    wal_test_write(marker, whole, size - 3);
    unreach(&s);
    CU_ASSERT_NOT_EQUAL(push(&s, 0x22, NULL), PGB_OK);
    CU_ASSERT_NOT_EQUAL(push(&s, 0x23, NULL), PGB_OK);
    /* The untouched one still serves. */
    CU_ASSERT_EQUAL(push(&s, 0x24, NULL), PGB_OK);
    reach(&s);
    CU_ASSERT_EQUAL(push(&s, 0x22, NULL), PGB_OK);
    CU_ASSERT_EQUAL(push(&s, 0x23, NULL), PGB_OK);

    /* A marker made for another repository: the segment is pushed into this one, the marker left to its owner. */
    struct server other;
    start(&other, "other");
    for (uint64_t segno = 0x30; segno <= 0x32; segno++)
        put(&other, segno, 1, 1, name);
    CU_ASSERT_EQUAL(push(&other, 0x30, pairs), PGB_OK);
    CU_ASSERT_FATAL(marked(other.spool, 0x31) && marked(other.spool, 0x32));
    char path[512];
    segment_path(&other, 0x31, path);
    CU_ASSERT_EQUAL(pgb_wal_push(s.repo, path), PGB_OK);
    CU_ASSERT(archived(&s, 0x31));
    CU_ASSERT(marked(other.spool, 0x31));
    unreach(&other);
    CU_ASSERT_EQUAL(push(&other, 0x31, NULL), PGB_OK);
    reach(&other);
    /* So is one made for another cluster of the same repository. */
    const char *cluster_pairs[] = {"cluster", "second", NULL};
    pgb_options *o = options(cluster_pairs);
    pgb_repo *second = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&second, other.storage, o), PGB_OK);
    segment_path(&other, 0x32, path);
    CU_ASSERT_EQUAL(pgb_wal_push(second, path), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(other.storage, "clusters/second/wal/00000001/000000010000000000000032", NULL),
                    PGB_OK);
    pgb_repo_close(second);
    unreach(&other);
    CU_ASSERT_EQUAL(push(&other, 0x32, NULL), PGB_OK);
    reach(&other);
    pgb_options_free(o);
    free(text);
    free(whole);
    stop(&other);
    stop(&s);
}

static void test_a_failure_ahead_never_fails_the_file_pushed(void)
{
    struct server s;
    start(&s, "failing");
    char name[PGB_WAL_NAME_SIZE], path[512];
    put(&s, 0x40, 1, 1, name);
    put(&s, 0x42, 1, 1, name);
    /* Segment 0x41 ready but damaged (truncated): its push ahead fails. */
    uint8_t *damaged = wal_test_segment(1, 0x41, 1, name);
    wal_test_put(s.pg_wal, name, damaged, WAL_TEST_SEGMENT_SIZE / 2, 1, path);
    const char *pairs[] = {"jobs", "2", NULL};
    CU_ASSERT_EQUAL(push(&s, 0x40, pairs), PGB_OK);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_OK);
    CU_ASSERT(archived(&s, 0x40));
    CU_ASSERT(archived(&s, 0x42) && marked(s.spool, 0x42));
    CU_ASSERT_FALSE(archived(&s, 0x41) || marked(s.spool, 0x41));
    CU_ASSERT_PTR_NOT_NULL(strstr(logged, "warning: could not push WAL segment 000000010000000000000041 ahead"));
    /* Its own call fails as it always did. */
    CU_ASSERT_EQUAL(push(&s, 0x41, NULL), PGB_ECORRUPT);

    /* A spool that cannot be made: nothing is marked, the file is archived all the same. */
    put(&s, 0x43, 1, 1, name);
    put(&s, 0x44, 1, 1, name);
    char spool[400];
    snprintf(spool, sizeof(spool), "%s/no-such-folder/spool", s.dir);
    const char *bad_spool[] = {"jobs", "2", "spool-dir", spool, NULL};
    logged[0] = '\0';
    CU_ASSERT_EQUAL(push(&s, 0x43, bad_spool), PGB_OK);
    CU_ASSERT(archived(&s, 0x43));
    CU_ASSERT_FALSE(archived(&s, 0x44));
    CU_ASSERT_PTR_NOT_NULL(strstr(logged, "warning: push-ahead does not run: cannot create the spool folder"));

    /* The file's own failure is the result, with its own message, whatever happened ahead. */
    put(&s, 0x45, 1, 1, name);
    uint8_t *conflicting = wal_test_segment(1, 0x43, 2, name);
    wal_test_put(s.pg_wal, name, conflicting, WAL_TEST_SEGMENT_SIZE, 1, path);
    CU_ASSERT_EQUAL(push(&s, 0x43, pairs), PGB_EEXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "000000010000000000000043 is already archived"));
    CU_ASSERT(archived(&s, 0x44) && archived(&s, 0x45));
    free(damaged);
    free(conflicting);
    stop(&s);
}

static void test_markers_of_older_segments_are_removed_and_spool_dir_is_used(void)
{
    struct server s;
    start(&s, "clean");
    char name[PGB_WAL_NAME_SIZE], spool[400];
    snprintf(spool, sizeof(spool), "%s/my-spool", s.dir);
    for (uint64_t segno = 0x50; segno <= 0x53; segno++)
        put(&s, segno, 1, 1, name);
    const char *pairs[] = {"jobs", "2", "push-ahead", "2", "spool-dir", spool, NULL};
    CU_ASSERT_EQUAL(push(&s, 0x50, pairs), PGB_OK);
    CU_ASSERT(marked(spool, 0x51) && marked(spool, 0x52));
    CU_ASSERT_FALSE(archived(&s, 0x53));
    CU_ASSERT_FALSE(wal_test_exists(s.spool));
    /* The server archived 0x51 and 0x52 some other way; its call for 0x53 cleans their markers. */
    const char *spool_only[] = {"spool-dir", spool, NULL};
    CU_ASSERT_EQUAL(push(&s, 0x53, spool_only), PGB_OK);
    CU_ASSERT_FALSE(marked(spool, 0x51) || marked(spool, 0x52));
    stop(&s);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"push_ahead_archives_the_ready_segments_after_the_file_and_later_calls_need_no_repository",
         test_push_ahead_archives_the_ready_segments_after_the_file_and_later_calls_need_no_repository},
        {"a_marker_that_does_not_prove_itself_is_ignored", test_a_marker_that_does_not_prove_itself_is_ignored},
        {"a_failure_ahead_never_fails_the_file_pushed", test_a_failure_ahead_never_fails_the_file_pushed},
        {"markers_of_older_segments_are_removed_and_spool_dir_is_used",
         test_markers_of_older_segments_are_removed_and_spool_dir_is_used},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_push_ahead", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
