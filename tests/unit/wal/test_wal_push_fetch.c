/*
 * The WAL archive: push stores a file once and durably, accepts an identical
 * re-push and refuses a conflicting one keeping the archived copy; a host
 * holding only the writer key can push and re-push but not fetch; fetch gives
 * back the exact bytes, says "not archived" only when the file is absent,
 * refuses damage without leaving a destination file, and serves a partial
 * segment when the complete one was never archived.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pg/lsn.h"
#include "repo/repo.h"
#include "test_main.h"
#include "wal/wal_file.h"

#define MiB (UINT64_C(1) << 20)
#define SEGMENT_SIZE MiB /* the smallest initdb allows: keeps the tests quick */

static pgb_ctx *ctx;
static char root[64];
static char folder[256];
static int counter;

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-wal-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    /* Writer key files go under $HOME/.config by default: keep them in the temp folder. */
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

/* A fresh folder for one test. */
static const char *fresh(const char *name)
{
    snprintf(folder, sizeof(folder), "%s/%s-%d", root, name, ++counter);
    mkdir(folder, 0700);
    return folder;
}

/*
 * A segment as PostgreSQL 15 writes it: a long page header at the position
 * of segment segno, then bytes that depend on seed (so two calls with
 * different seeds give the same name with different content).
 */
static uint8_t *fake_segment(uint32_t timeline, uint64_t segno, unsigned seed, char name[PGB_WAL_NAME_SIZE])
{
    uint8_t *data = malloc(SEGMENT_SIZE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    uint32_t state = seed * 2654435761u + 1;
    for (uint64_t i = 0; i < SEGMENT_SIZE; i++) {
        state = state * 1103515245u + 12345u;
        data[i] = (uint8_t)(i % 3 ? state >> 16 : 0); /* compressible, not constant */
    }
    uint16_t magic = 0xD110, info = 0x0002;
    uint64_t pageaddr = pgb_wal_segment_start(segno, SEGMENT_SIZE), system_id = UINT64_C(7300000000000000001);
    uint32_t segment_size = (uint32_t)SEGMENT_SIZE, block_size = 8192;
    memcpy(data + 0, &magic, 2);
    memcpy(data + 2, &info, 2);
    memcpy(data + 4, &timeline, 4);
    memcpy(data + 8, &pageaddr, 8);
    memcpy(data + 24, &system_id, 8);
    memcpy(data + 32, &segment_size, 4);
    memcpy(data + 36, &block_size, 4);
    pgb_wal_segment_name(timeline, segno, SEGMENT_SIZE, name);
    return data;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, size, f), size);
    fclose(f);
}

/* The whole file, or NULL when it cannot be read. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(length > 0 ? (size_t)length : 1);
    *size = fread(data, 1, (size_t)length, f);
    fclose(f);
    return data;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whether path holds exactly data. */
static int holds(const char *path, const void *data, size_t size)
{
    size_t got = 0;
    uint8_t *content = read_file(path, &got);
    int same = content && got == size && memcmp(content, data, size) == 0;
    free(content);
    return same;
}

/* Write data as dir/pg_wal/name and return its path (static buffer). */
static const char *local_wal(const char *dir, const char *name, const void *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/pg_wal", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/pg_wal/%s", dir, name);
    write_file(path, data, size);
    return path;
}

static pgb_options *options(const char *const *pairs)
{
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    return o;
}

struct archive {
    char dir[300];
    char repo_path[320];
    pgb_storage *storage;
    pgb_repo *repo;
};

/* A plain repository with cluster main, in a fresh folder. */
static void open_plain(struct archive *a, const char *name)
{
    snprintf(a->dir, sizeof(a->dir), "%s", fresh(name));
    snprintf(a->repo_path, sizeof(a->repo_path), "%s/repo", a->dir);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&a->storage, ctx, a->repo_path, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&a->repo, a->storage, NULL), PGB_OK);
}

static void close_archive(struct archive *a)
{
    pgb_repo_close(a->repo);
    pgb_storage_free(a->storage);
}

/* Where the posix backend keeps the object of a WAL file. */
static void object_path(const struct archive *a, const char *key, char *out, size_t size)
{
    snprintf(out, size, "%s/%.*s", a->repo_path, 200, key);
}

static void test_push_stores_the_file_under_its_timeline_and_fetch_gives_it_back(void)
{
    struct archive a;
    open_plain(&a, "roundtrip");
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 0x1234, 1, name);
    const char *path = local_wal(a.dir, name, segment, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_OK);
    char key[PGB_KEY_SIZE];
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s", name);
    uint64_t stored = 0;
    CU_ASSERT_EQUAL(pgb_storage_stat(a.storage, key, &stored), PGB_OK);
    CU_ASSERT(stored > 0 && stored < SEGMENT_SIZE); /* compressed (zstd:3 by default) */
    char sum_key[PGB_KEY_SIZE + 8];
    snprintf(sum_key, sizeof(sum_key), "%s.sum", key);
    CU_ASSERT_EQUAL(pgb_storage_stat(a.storage, sum_key, NULL), PGB_OK);

    char destination[400];
    snprintf(destination, sizeof(destination), "%s/RECOVERYXLOG", a.dir);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_OK);
    CU_ASSERT(holds(destination, segment, SEGMENT_SIZE));

    /* A timeline history file goes under the folder of its own timeline. */
    const char history[] = "1\t0/5000060\tno recovery target specified\n";
    path = local_wal(a.dir, "00000002.history", history, sizeof(history) - 1);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(a.storage, "clusters/main/wal/00000002/00000002.history", NULL), PGB_OK);
    snprintf(destination, sizeof(destination), "%s/RECOVERYHISTORY", a.dir);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, "00000002.history", destination), PGB_OK);
    CU_ASSERT(holds(destination, history, sizeof(history) - 1));

    /* A backup history file beside the segments of its timeline. */
    const char label[] = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n";
    path = local_wal(a.dir, "000000010000000000000002.00000028.backup", label, sizeof(label) - 1);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(a.storage,
                                     "clusters/main/wal/00000001/000000010000000000000002.00000028.backup", NULL),
                    PGB_OK);
    free(segment);
    close_archive(&a);
}

static void test_a_relative_path_is_relative_to_the_current_directory(void)
{
    struct archive a;
    open_plain(&a, "relative");
    char name[PGB_WAL_NAME_SIZE], relative[64], cwd[1024];
    uint8_t *segment = fake_segment(1, 7, 2, name);
    local_wal(a.dir, name, segment, SEGMENT_SIZE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
    CU_ASSERT_EQUAL_FATAL(chdir(a.dir), 0);
    snprintf(relative, sizeof(relative), "pg_wal/%s", name); /* as the server gives %p */
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, relative), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, "pg_wal/RECOVERYXLOG"), PGB_OK);
    CU_ASSERT(holds("pg_wal/RECOVERYXLOG", segment, SEGMENT_SIZE));
    CU_ASSERT_EQUAL(chdir(cwd), 0);
    free(segment);
    close_archive(&a);
}

static void test_push_twice_identical_succeeds_and_different_content_is_refused(void)
{
    struct archive a;
    open_plain(&a, "conflict");
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *original = fake_segment(1, 3, 1, name);
    uint8_t *other = fake_segment(1, 3, 2, name);
    const char *path = local_wal(a.dir, name, original, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_OK);
    char key[PGB_KEY_SIZE], stored[600];
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s", name);
    object_path(&a, key, stored, sizeof(stored));
    size_t before_size = 0;
    uint8_t *before = read_file(stored, &before_size);

    /* The server archives again after a crash: same content, success. */
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_OK);

    /* Different content under the same name: refused, the archived copy untouched. */
    path = local_wal(a.dir, name, other, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_EEXISTS);
    char expected[200];
    snprintf(expected, sizeof(expected), "WAL file %s is already archived with different content; the archived copy "
             "is kept", name);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), expected));
    CU_ASSERT(holds(stored, before, before_size));
    char destination[400];
    snprintf(destination, sizeof(destination), "%s/fetched", a.dir);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_OK);
    CU_ASSERT(holds(destination, original, SEGMENT_SIZE));
    free(before);
    free(original);
    free(other);
    close_archive(&a);
}

static void test_push_refuses_what_is_not_wal_naming_the_file(void)
{
    struct archive a;
    open_plain(&a, "refuse");
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 5, 1, name);

    /* A name that is no WAL file's. */
    const char *path = local_wal(a.dir, "postgresql.conf", "port = 5432\n", 12);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "postgresql.conf is not a WAL file"));

    /* A truncated segment: refused, nothing stored. */
    path = local_wal(a.dir, name, segment, SEGMENT_SIZE - 8192);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), path));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "not a complete WAL segment"));
    char key[PGB_KEY_SIZE];
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s", name);
    CU_ASSERT_EQUAL(pgb_storage_stat(a.storage, key, NULL), PGB_ENOTFOUND);

    /* Segment 5's content under segment 6's name. */
    char wrong[PGB_WAL_NAME_SIZE];
    pgb_wal_segment_name(1, 6, SEGMENT_SIZE, wrong);
    path = local_wal(a.dir, wrong, segment, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "xlp_pageaddr"));

    /* A missing file. */
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, "/nonexistent/pg_wal/000000010000000000000001"), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "/nonexistent/pg_wal/000000010000000000000001"));
    free(segment);
    close_archive(&a);
}

static void test_the_compress_option_is_used(void)
{
    struct archive a;
    open_plain(&a, "compress");
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 9, 1, name);
    const char *path = local_wal(a.dir, name, segment, SEGMENT_SIZE);
    const char *pairs[] = {"compress", "none", NULL};
    pgb_options *o = options(pairs);
    CU_ASSERT_EQUAL(pgb_wal_push_with_options(a.repo, path, o), PGB_OK);
    char key[PGB_KEY_SIZE];
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s", name);
    uint8_t *stored = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(a.storage, key, (void **)&stored, &size), PGB_OK);
    CU_ASSERT(size > SEGMENT_SIZE);
    CU_ASSERT_EQUAL(stored[5], 0); /* codec byte: none */
    pgb_free(stored);
    pgb_options_free(o);
    free(segment);
    close_archive(&a);
}

static void test_a_missing_checksum_record_is_rewritten_once_the_content_is_proven_equal(void)
{
    struct archive a;
    open_plain(&a, "no-sum");
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 11, 1, name);
    uint8_t *other = fake_segment(1, 11, 2, name);
    const char *path = local_wal(a.dir, name, segment, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_OK);
    char sum_key[PGB_KEY_SIZE];
    snprintf(sum_key, sizeof(sum_key), "clusters/main/wal/00000001/%s.sum", name);
    /* As if the push had died between the segment and its record. */
    CU_ASSERT_EQUAL(pgb_storage_remove(a.storage, sum_key), PGB_OK);
    path = local_wal(a.dir, name, other, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_EEXISTS);
    CU_ASSERT_EQUAL(pgb_storage_stat(a.storage, sum_key, NULL), PGB_ENOTFOUND);
    path = local_wal(a.dir, name, segment, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, path), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(a.storage, sum_key, NULL), PGB_OK);
    free(segment);
    free(other);
    close_archive(&a);
}

static void test_a_writer_holding_only_the_writer_key_pushes_but_cannot_fetch(void)
{
    const char *dir = fresh("recipients");
    char identity[400], public_key[420], writer_key[400], repo_path[400], destination[400];
    snprintf(identity, sizeof(identity), "%s/restore.key", dir);
    snprintf(public_key, sizeof(public_key), "%s.pub", identity);
    snprintf(writer_key, sizeof(writer_key), "%s/writer.key", dir);
    snprintf(repo_path, sizeof(repo_path), "%s/repo", dir);
    snprintf(destination, sizeof(destination), "%s/fetched", dir);
    CU_ASSERT_EQUAL_FATAL(pgb_keygen(ctx, identity), PGB_OK);
    const char *init_pairs[] = {"recipient", public_key, "writer-key", writer_key, NULL};
    pgb_options *o = options(init_pairs);
    pgb_storage *s = NULL;
    pgb_repo *repo = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, repo_path, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, o), PGB_OK);
    pgb_repo_close(repo);
    pgb_options_free(o);

    /* The database host: the writer key only. */
    const char *writer_pairs[] = {"writer-key", writer_key, NULL};
    o = options(writer_pairs);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, s, o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_repo_can_read(repo), 0);
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 21, 1, name);
    uint8_t *other = fake_segment(1, 21, 2, name);
    const char *path = local_wal(dir, name, segment, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(repo, path), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_push(repo, path), PGB_OK);
    path = local_wal(dir, name, other, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(repo, path), PGB_EEXISTS);
    CU_ASSERT_EQUAL(pgb_wal_fetch(repo, name, destination), PGB_EAUTH);
    CU_ASSERT_FALSE(file_exists(destination));

    /* Without its record, the writer cannot prove a re-push identical: it says so rather than guess. */
    char sum_key[PGB_KEY_SIZE];
    snprintf(sum_key, sizeof(sum_key), "%s/wal/00000001/%s.sum", repo->cluster_dir, name);
    CU_ASSERT_EQUAL(pgb_storage_remove(s, sum_key), PGB_OK);
    path = local_wal(dir, name, segment, SEGMENT_SIZE);
    CU_ASSERT_EQUAL(pgb_wal_push(repo, path), PGB_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "has no checksum record"));
    pgb_repo_close(repo);
    pgb_options_free(o);

    /* The restore host: the identity reads everything, and can repair the record. */
    const char *reader_pairs[] = {"identity", identity, NULL};
    o = options(reader_pairs);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, s, o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_push(repo, path), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, sum_key, NULL), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_fetch(repo, name, destination), PGB_OK);
    CU_ASSERT(holds(destination, segment, SEGMENT_SIZE));
    pgb_repo_close(repo);
    pgb_options_free(o);
    pgb_storage_free(s);
    free(segment);
    free(other);
}

static void test_fetch_of_a_missing_name_is_not_found_and_only_then(void)
{
    struct archive a;
    open_plain(&a, "missing");
    char destination[400];
    snprintf(destination, sizeof(destination), "%s/RECOVERYXLOG", a.dir);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, "000000010000000000000042", destination), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "000000010000000000000042 is not archived"));
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, "00000005.history", destination), PGB_ENOTFOUND);
    CU_ASSERT_FALSE(file_exists(destination));

    /* Not a WAL name: invalid, not "absent". */
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, "../../etc/passwd", destination), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, "RECOVERYXLOG", destination), PGB_EINVALID);

    /* A misspelt cluster: every file would look absent; it is a configuration error instead. */
    const char *pairs[] = {"cluster", "mian", NULL};
    pgb_options *o = options(pairs);
    pgb_repo *other = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&other, a.storage, o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_fetch(other, "000000010000000000000042", destination), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "no cluster 'mian'"));
    pgb_repo_close(other);
    pgb_options_free(o);

    /* A destination folder that does not exist is a local failure, not "absent". */
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 12, 1, name);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, local_wal(a.dir, name, segment, SEGMENT_SIZE)), PGB_OK);
    snprintf(destination, sizeof(destination), "%s/no-such-folder/RECOVERYXLOG", a.dir);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_EIO);
    free(segment);
    close_archive(&a);
}

static void test_fetch_of_a_damaged_object_fails_and_leaves_no_destination(void)
{
    struct archive a;
    open_plain(&a, "damaged");
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 13, 1, name);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, local_wal(a.dir, name, segment, SEGMENT_SIZE)), PGB_OK);
    char key[PGB_KEY_SIZE], stored[600], destination[400];
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s", name);
    object_path(&a, key, stored, sizeof(stored));
    size_t size = 0;
    uint8_t *object = read_file(stored, &size);
    CU_ASSERT_FATAL(object && size > 200);
    object[size / 2] ^= 0x20;
    write_file(stored, object, size);
    snprintf(destination, sizeof(destination), "%s/RECOVERYXLOG", a.dir);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), key));
    CU_ASSERT_FALSE(file_exists(destination));
    /* Nor any temporary file beside it. */
    char command[600];
    snprintf(command, sizeof(command), "test -z \"$(ls -A '%s' | grep -v -e '^repo$' -e '^pg_wal$')\"", a.dir);
    CU_ASSERT_EQUAL(system(command), 0);

    /* A record whose object vanished is damage, never "not archived". */
    object[size / 2] ^= 0x20;
    write_file(stored, object, size);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_OK);
    unlink(destination);
    CU_ASSERT_EQUAL(unlink(stored), 0);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "is missing, though its checksum record is there"));
    CU_ASSERT_FALSE(file_exists(destination));

    /* An unreadable repository folder is a failure, never "not archived". */
    char wal_folder[600];
    snprintf(wal_folder, sizeof(wal_folder), "%s/clusters/main/wal", a.repo_path);
    if (geteuid() != 0) { /* root reads through any mode */
        CU_ASSERT_EQUAL(chmod(wal_folder, 0), 0);
        CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, "000000010000000000000099", destination), PGB_EIO);
        CU_ASSERT_EQUAL(chmod(wal_folder, 0700), 0);
    }
    free(object);
    free(segment);
    close_archive(&a);
}

static void test_a_partial_segment_is_served_when_the_segment_is_absent(void)
{
    struct archive a;
    open_plain(&a, "partial");
    char name[PGB_WAL_NAME_SIZE], partial[64], destination[400];
    uint8_t *segment = fake_segment(2, 30, 1, name);
    snprintf(partial, sizeof(partial), "%s.partial", name);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, local_wal(a.dir, partial, segment, SEGMENT_SIZE)), PGB_OK);
    snprintf(destination, sizeof(destination), "%s/RECOVERYXLOG", a.dir);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_OK);
    CU_ASSERT(holds(destination, segment, SEGMENT_SIZE));
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, partial, destination), PGB_OK);

    /*
     * A promoted server's own partial of that segment, different from the one
     * archived (a receiver's), is accepted so that its archiver goes on; the
     * archived copy is kept.
     */
    char other_name[PGB_WAL_NAME_SIZE];
    uint8_t *other = fake_segment(2, 30, 3, other_name);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, local_wal(a.dir, partial, other, SEGMENT_SIZE)), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, partial, destination), PGB_OK);
    CU_ASSERT(holds(destination, segment, SEGMENT_SIZE));
    free(other);

    /* Once the complete segment is archived, it wins. */
    uint8_t *complete = fake_segment(2, 30, 2, name);
    CU_ASSERT_EQUAL(pgb_wal_push(a.repo, local_wal(a.dir, name, complete, SEGMENT_SIZE)), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_fetch(a.repo, name, destination), PGB_OK);
    CU_ASSERT(holds(destination, complete, SEGMENT_SIZE));
    free(segment);
    free(complete);
    close_archive(&a);
}

static void test_an_encrypted_repository_round_trips_and_catches_damage(void)
{
    const char *dir = fresh("passphrase");
    char pass[400], repo_path[400], destination[400];
    snprintf(pass, sizeof(pass), "%s/pass", dir);
    snprintf(repo_path, sizeof(repo_path), "%s/repo", dir);
    snprintf(destination, sizeof(destination), "%s/fetched", dir);
    write_file(pass, "wal test passphrase\n", 20);
    chmod(pass, 0600);
    const char *pairs[] = {"passphrase-file", pass, NULL};
    pgb_options *o = options(pairs);
    pgb_storage *s = NULL;
    pgb_repo *repo = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, repo_path, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, o), PGB_OK);
    char name[PGB_WAL_NAME_SIZE];
    uint8_t *segment = fake_segment(1, 40, 1, name);
    CU_ASSERT_EQUAL(pgb_wal_push(repo, local_wal(dir, name, segment, SEGMENT_SIZE)), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_push(repo, local_wal(dir, name, segment, SEGMENT_SIZE)), PGB_OK);
    CU_ASSERT_EQUAL(pgb_wal_fetch(repo, name, destination), PGB_OK);
    CU_ASSERT(holds(destination, segment, SEGMENT_SIZE));
    unlink(destination);
    char key[PGB_KEY_SIZE], stored[PGB_KEY_SIZE + 512];
    snprintf(key, sizeof(key), "%s/wal/00000001/%s", repo->cluster_dir, name);
    snprintf(stored, sizeof(stored), "%s/%s", repo_path, key);
    size_t size = 0;
    uint8_t *object = read_file(stored, &size);
    CU_ASSERT_FATAL(object != NULL);
    object[size - 5] ^= 0x01; /* inside the last chunk's tag */
    write_file(stored, object, size);
    CU_ASSERT_EQUAL(pgb_wal_fetch(repo, name, destination), PGB_ECORRUPT);
    CU_ASSERT_FALSE(file_exists(destination));
    free(object);
    free(segment);
    pgb_repo_close(repo);
    pgb_options_free(o);
    pgb_storage_free(s);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"push_stores_the_file_under_its_timeline_and_fetch_gives_it_back",
         test_push_stores_the_file_under_its_timeline_and_fetch_gives_it_back},
        {"a_relative_path_is_relative_to_the_current_directory",
         test_a_relative_path_is_relative_to_the_current_directory},
        {"push_twice_identical_succeeds_and_different_content_is_refused",
         test_push_twice_identical_succeeds_and_different_content_is_refused},
        {"push_refuses_what_is_not_wal_naming_the_file", test_push_refuses_what_is_not_wal_naming_the_file},
        {"the_compress_option_is_used", test_the_compress_option_is_used},
        {"a_missing_checksum_record_is_rewritten_once_the_content_is_proven_equal",
         test_a_missing_checksum_record_is_rewritten_once_the_content_is_proven_equal},
        {"a_writer_holding_only_the_writer_key_pushes_but_cannot_fetch",
         test_a_writer_holding_only_the_writer_key_pushes_but_cannot_fetch},
        {"fetch_of_a_missing_name_is_not_found_and_only_then", test_fetch_of_a_missing_name_is_not_found_and_only_then},
        {"fetch_of_a_damaged_object_fails_and_leaves_no_destination",
         test_fetch_of_a_damaged_object_fails_and_leaves_no_destination},
        {"a_partial_segment_is_served_when_the_segment_is_absent",
         test_a_partial_segment_is_served_when_the_segment_is_absent},
        {"an_encrypted_repository_round_trips_and_catches_damage",
         test_an_encrypted_repository_round_trips_and_catches_damage},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_archive", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
