/*
 * The storage conformance suite: the same cases run against every backend,
 * so that the repository can rely on one behaviour: posix, a callbacks
 * backend (an in-memory store written the way an embedding program would
 * write one), S3 against a real s3rver and SFTP against a real OpenSSH
 * server, both started by the test on loopback ports.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "storage_servers.h"
#include "test_main.h"

static pgb_ctx *ctx;
static pgb_storage *storage;
static char posix_root[64];
static int backend_is_posix;
static pgb_options *backend_options;
static struct pgb_test_server s3_server, ssh_server;
static int s3_started, ssh_started; /* 0 not tried, 1 running, 2 not installed, -1 failed */

/* ---- an in-memory backend made only of public callbacks ---- */

struct memory_object {
    char *key;
    uint8_t *data;
    size_t size;
};

struct memory_store {
    struct memory_object objects[256];
    int count;
};

struct memory_write {
    char *key;
    int flags;
    uint8_t *data;
    size_t size;
};

struct memory_read {
    const struct memory_object *object;
    size_t position, end;
};

static struct memory_object *memory_find(struct memory_store *m, const char *key)
{
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->objects[i].key, key) == 0)
            return &m->objects[i];
    return NULL;
}

static int memory_open_read(void *payload, const char *key, uint64_t offset, uint64_t length, void **stream)
{
    struct memory_object *o = memory_find(payload, key);
    if (!o)
        return PGB_ENOTFOUND;
    struct memory_read *r = calloc(1, sizeof(*r));
    r->object = o;
    r->position = offset < o->size ? (size_t)offset : o->size;
    r->end = length && offset + length < o->size ? (size_t)(offset + length) : o->size;
    *stream = r;
    return PGB_OK;
}

static int memory_read(void *payload, void *stream, void *buffer, size_t size, size_t *got)
{
    (void)payload;
    struct memory_read *r = stream;
    size_t left = r->end > r->position ? r->end - r->position : 0;
    *got = size < left ? size : left;
    if (*got)
        memcpy(buffer, r->object->data + r->position, *got);
    r->position += *got;
    return PGB_OK;
}

static void memory_close_read(void *payload, void *stream)
{
    (void)payload;
    free(stream);
}

static int memory_open_write(void *payload, const char *key, int flags, void **stream)
{
    (void)payload;
    struct memory_write *w = calloc(1, sizeof(*w));
    w->key = strdup(key);
    w->flags = flags;
    *stream = w;
    return PGB_OK;
}

static int memory_write(void *payload, void *stream, const void *data, size_t size)
{
    (void)payload;
    struct memory_write *w = stream;
    if (size == 0)
        return PGB_OK;
    w->data = realloc(w->data, w->size + size);
    memcpy(w->data + w->size, data, size);
    w->size += size;
    return PGB_OK;
}

static void memory_abort(void *payload, void *stream)
{
    (void)payload;
    struct memory_write *w = stream;
    free(w->key);
    free(w->data);
    free(w);
}

static int memory_commit(void *payload, void *stream)
{
    struct memory_store *m = payload;
    struct memory_write *w = stream;
    struct memory_object *o = memory_find(m, w->key);
    if (o && (w->flags & PGB_STORAGE_NO_OVERWRITE)) {
        memory_abort(payload, stream);
        return PGB_EEXISTS;
    }
    if (!o) {
        o = &m->objects[m->count++];
        o->key = w->key;
    } else {
        free(w->key);
        free(o->data);
    }
    o->data = w->data;
    o->size = w->size;
    free(w);
    return PGB_OK;
}

static int memory_list(void *payload, const char *prefix, pgb_storage_list_fn each, void *each_payload)
{
    struct memory_store *m = payload;
    for (int i = 0; i < m->count; i++)
        if (strncmp(m->objects[i].key, prefix, strlen(prefix)) == 0 &&
            each(m->objects[i].key, m->objects[i].size, each_payload) != 0)
            return PGB_ECANCELED;
    return PGB_OK;
}

static int memory_stat(void *payload, const char *key, uint64_t *size)
{
    struct memory_object *o = memory_find(payload, key);
    if (!o)
        return PGB_ENOTFOUND;
    *size = o->size;
    return PGB_OK;
}

static int memory_remove(void *payload, const char *key)
{
    struct memory_store *m = payload;
    struct memory_object *o = memory_find(m, key);
    if (o) {
        free(o->key);
        free(o->data);
        *o = m->objects[--m->count];
    }
    return PGB_OK;
}

static void memory_free(void *payload)
{
    struct memory_store *m = payload;
    for (int i = 0; i < m->count; i++) {
        free(m->objects[i].key);
        free(m->objects[i].data);
    }
    free(m);
}

static const pgb_storage_ops memory_ops = {
    PGB_STORAGE_OPS_VERSION, memory_open_read, memory_read, memory_close_read, memory_open_write,
    memory_write, memory_commit, memory_abort, memory_list, memory_stat, memory_remove, memory_free,
};

/* ---- suite set-up per backend ---- */

static int setup_posix(void)
{
    backend_is_posix = 1;
    snprintf(posix_root, sizeof(posix_root), "/tmp/pgb-storage-XXXXXX");
    if (!mkdtemp(posix_root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    char url[128];
    snprintf(url, sizeof(url), "file://%s/repo", posix_root);
    return pgb_storage_open(&storage, ctx, url, NULL) != PGB_OK;
}

static int setup_callbacks(void)
{
    backend_is_posix = 0;
    if (pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    return pgb_storage_from_callbacks(&storage, ctx, &memory_ops, calloc(1, sizeof(struct memory_store)),
                                      "memory") != PGB_OK;
}

/* S3 and SFTP: a failed start leaves storage NULL, so that every case fails rather than passes unseen. */
static int setup_s3(void)
{
    backend_is_posix = 0;
    storage = NULL;
    if (pgb_ctx_new(&ctx) != PGB_OK || pgb_options_new(&backend_options, ctx) != PGB_OK)
        return 1;
    if (s3_started != 1 || pgb_test_s3_options(&s3_server, backend_options) != 0 ||
        pgb_storage_open(&storage, ctx, "s3://" PGB_TEST_BUCKET "/conformance", backend_options) != PGB_OK)
        fprintf(stderr, "\nS3 storage not available: %s\n", pgb_ctx_errmsg(ctx));
    return 0;
}

static int setup_sftp(void)
{
    backend_is_posix = 0;
    storage = NULL;
    if (pgb_ctx_new(&ctx) != PGB_OK || pgb_options_new(&backend_options, ctx) != PGB_OK)
        return 1;
    char url[256];
    if (ssh_started != 1 || pgb_test_sftp_options(&ssh_server, backend_options, "conformance", url, sizeof(url)) != 0 ||
        pgb_storage_open(&storage, ctx, url, backend_options) != PGB_OK)
        fprintf(stderr, "\nSFTP storage not available: %s\n", pgb_ctx_errmsg(ctx));
    return 0;
}

static void test_server_is_running(void)
{
    CU_ASSERT_PTR_NOT_NULL(storage);
}

static int teardown(void)
{
    pgb_storage_free(storage);
    pgb_options_free(backend_options);
    backend_options = NULL;
    pgb_ctx_free(ctx);
    if (backend_is_posix) {
        char command[128];
        snprintf(command, sizeof(command), "rm -rf '%s'", posix_root);
        if (system(command) != 0)
            return 1;
    }
    return 0;
}

/* ---- helpers ---- */

static uint8_t *pattern(size_t size, unsigned seed)
{
    uint8_t *data = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 8)) & 0xff);
    return data;
}

struct key_list {
    char keys[64][128];
    uint64_t sizes[64];
    int count;
};

static int collect(const char *key, uint64_t size, void *payload)
{
    struct key_list *l = payload;
    if (l->count < 64) {
        snprintf(l->keys[l->count], sizeof(l->keys[0]), "%s", key);
        l->sizes[l->count++] = size;
    }
    return 0;
}

static int listed(const struct key_list *l, const char *key)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->keys[i], key) == 0)
            return 1;
    return 0;
}

static void clear_all(void)
{
    struct key_list l = {0};
    pgb_storage_list(storage, "", collect, &l);
    for (int i = 0; i < l.count; i++)
        pgb_storage_remove(storage, l.keys[i]);
}

/* ---- cases ---- */

static void test_put_then_get_returns_the_same_bytes(void)
{
    size_t sizes[] = {0, 1, 4095, 4096, 4097, 1 << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *data = pattern(sizes[i], (unsigned)i);
        CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, "data/object", data, sizes[i], 0), PGB_OK);
        void *back = NULL;
        size_t size = 99;
        CU_ASSERT_EQUAL(pgb_storage_get(storage, "data/object", &back, &size), PGB_OK);
        CU_ASSERT_EQUAL(size, sizes[i]);
        CU_ASSERT(back && memcmp(back, data, sizes[i]) == 0);
        uint64_t stat_size = 0;
        CU_ASSERT_EQUAL(pgb_storage_stat(storage, "data/object", &stat_size), PGB_OK);
        CU_ASSERT_EQUAL(stat_size, sizes[i]);
        pgb_free(back);
        free(data);
    }
    clear_all();
}

static void test_object_is_invisible_until_commit(void)
{
    pgb_storage_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_writer_open(&w, storage, "pending/one", 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_writer_write(w, "abc", 3), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(storage, "pending/one", NULL), PGB_ENOTFOUND);
    struct key_list l = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(storage, "", collect, &l), PGB_OK);
    CU_ASSERT_EQUAL(l.count, 0);
    CU_ASSERT_EQUAL(pgb_storage_writer_commit(w), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(storage, "pending/one", NULL), PGB_OK);
    clear_all();
}

static void test_abort_leaves_nothing(void)
{
    pgb_storage_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_writer_open(&w, storage, "aborted/one", 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_writer_write(w, "abc", 3), PGB_OK);
    pgb_storage_writer_abort(w);
    CU_ASSERT_EQUAL(pgb_storage_stat(storage, "aborted/one", NULL), PGB_ENOTFOUND);
    struct key_list l = {0};
    pgb_storage_list(storage, "", collect, &l);
    CU_ASSERT_EQUAL(l.count, 0);
    if (backend_is_posix) {
        /* Not even a hidden temp file stays behind. */
        char command[160];
        snprintf(command, sizeof(command), "test -z \"$(ls -A '%s/repo/aborted')\"", posix_root);
        CU_ASSERT_EQUAL(system(command), 0);
    }
}

static void test_commit_replaces_unless_told_not_to(void)
{
    CU_ASSERT_EQUAL(pgb_storage_put(storage, "wal/seg", "first", 5, PGB_STORAGE_NO_OVERWRITE), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(storage, "wal/seg", "second", 6, PGB_STORAGE_NO_OVERWRITE), PGB_EEXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "wal/seg"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "exists"));
    void *back;
    size_t size;
    CU_ASSERT_EQUAL(pgb_storage_get(storage, "wal/seg", &back, &size), PGB_OK);
    CU_ASSERT(size == 5 && memcmp(back, "first", 5) == 0);
    pgb_free(back);
    CU_ASSERT_EQUAL(pgb_storage_put(storage, "wal/seg", "third", 5, 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_get(storage, "wal/seg", &back, &size), PGB_OK);
    CU_ASSERT(size == 5 && memcmp(back, "third", 5) == 0);
    pgb_free(back);
    clear_all();
}

static void test_range_read_returns_the_slice(void)
{
    uint8_t *data = pattern(100000, 3);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, "packs/p1", data, 100000, 0), PGB_OK);
    pgb_storage_reader *r;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_reader_open(&r, storage, "packs/p1", 70000, 1000), PGB_OK);
    uint8_t buffer[4096];
    size_t total = 0, got;
    do {
        CU_ASSERT_EQUAL_FATAL(pgb_storage_reader_read(r, buffer + total, 333, &got), PGB_OK);
        total += got;
    } while (got > 0 && total < sizeof(buffer) - 333);
    pgb_storage_reader_close(r);
    CU_ASSERT_EQUAL(total, 1000);
    CU_ASSERT(memcmp(buffer, data + 70000, 1000) == 0);
    /* To the end, from an offset. */
    CU_ASSERT_EQUAL_FATAL(pgb_storage_reader_open(&r, storage, "packs/p1", 99990, 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_reader_read(r, buffer, sizeof(buffer), &got), PGB_OK);
    CU_ASSERT_EQUAL(got, 10);
    CU_ASSERT(memcmp(buffer, data + 99990, 10) == 0);
    CU_ASSERT_EQUAL(pgb_storage_reader_read(r, buffer, sizeof(buffer), &got), PGB_OK);
    CU_ASSERT_EQUAL(got, 0);
    pgb_storage_reader_close(r);
    free(data);
    clear_all();
}

static void test_list_returns_keys_under_a_prefix(void)
{
    const char *keys[] = {"a/1", "a/2", "a/b/3", "ab/4", "c"};
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(pgb_storage_put(storage, keys[i], "xy", 2, 0), PGB_OK);
    struct key_list l = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(storage, "a/", collect, &l), PGB_OK);
    CU_ASSERT_EQUAL(l.count, 3);
    CU_ASSERT(listed(&l, "a/1") && listed(&l, "a/2") && listed(&l, "a/b/3"));
    CU_ASSERT(!listed(&l, "ab/4"));
    CU_ASSERT_EQUAL(l.sizes[0], 2);
    struct key_list all = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(storage, "", collect, &all), PGB_OK);
    CU_ASSERT_EQUAL(all.count, 5);
    struct key_list none = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(storage, "zzz/", collect, &none), PGB_OK);
    CU_ASSERT_EQUAL(none.count, 0);
    clear_all();
}

static int stop_at_first(const char *key, uint64_t size, void *payload)
{
    (void)key, (void)size;
    ++*(int *)payload;
    return 1;
}

static void test_list_callback_can_stop_the_listing(void)
{
    pgb_storage_put(storage, "s/1", "x", 1, 0);
    pgb_storage_put(storage, "s/2", "x", 1, 0);
    int calls = 0;
    CU_ASSERT_EQUAL(pgb_storage_list(storage, "s/", stop_at_first, &calls), PGB_ECANCELED);
    CU_ASSERT_EQUAL(calls, 1);
    clear_all();
}

static void test_remove_deletes_and_tolerates_absence(void)
{
    CU_ASSERT_EQUAL(pgb_storage_put(storage, "r/x", "x", 1, 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_remove(storage, "r/x"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(storage, "r/x", NULL), PGB_ENOTFOUND);
    CU_ASSERT_EQUAL(pgb_storage_remove(storage, "r/x"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_remove(storage, "never/there"), PGB_OK);
}

static void test_missing_object_is_not_found_by_name(void)
{
    void *data = (void *)1;
    size_t size;
    CU_ASSERT_EQUAL(pgb_storage_get(storage, "backups/none", &data, &size), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NULL(data);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "backups/none"));
    pgb_storage_reader *r;
    CU_ASSERT_EQUAL(pgb_storage_reader_open(&r, storage, "backups/none", 0, 0), PGB_ENOTFOUND);
}

static void test_bad_keys_are_refused(void)
{
    const char *bad[] = {"", "/abs", "../up", "a/../b", "a//b", "a/", ".hidden", "a/.tmp", "a\\b", "a\nb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(pgb_storage_put(storage, bad[i], "x", 1, 0), PGB_EINVALID);
        CU_ASSERT_EQUAL(pgb_storage_stat(storage, bad[i], NULL), PGB_EINVALID);
    }
    CU_ASSERT_EQUAL(pgb_storage_put(storage, NULL, "x", 1, 0), PGB_EINVALID);
    struct key_list l = {0};
    pgb_storage_list(storage, "", collect, &l);
    CU_ASSERT_EQUAL(l.count, 0);
}

static void test_writer_killed_mid_object_leaves_nothing_visible(void)
{
    pid_t child = fork();
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        pgb_storage_writer *w;
        if (pgb_storage_writer_open(&w, storage, "killed/object", 0) != PGB_OK)
            _exit(1);
        uint8_t *data = pattern(1 << 20, 9);
        pgb_storage_writer_write(w, data, 1 << 20);
        raise(SIGKILL);
        _exit(1);
    }
    int status;
    waitpid(child, &status, 0);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* For the in-memory backend the child's store was a copy: nothing can show here either. */
    CU_ASSERT_EQUAL(pgb_storage_stat(storage, "killed/object", NULL), PGB_ENOTFOUND);
    struct key_list l = {0};
    pgb_storage_list(storage, "", collect, &l);
    CU_ASSERT_EQUAL(l.count, 0);
}

/* ---- posix only ---- */

static void test_posix_files_are_private(void)
{
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, "secret/deep/file", "x", 1, 0), PGB_OK);
    char path[160];
    struct stat st;
    snprintf(path, sizeof(path), "%s/repo/secret/deep/file", posix_root);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/repo/secret/deep", posix_root);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
    clear_all();
}

static void test_posix_errors_name_path_and_system_error(void)
{
    /* Root ignores permissions: scripts/test runs this suite as an unprivileged user. */
    CU_ASSERT_NOT_EQUAL_FATAL(geteuid(), 0);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, "locked/a", "x", 1, 0), PGB_OK);
    char path[160];
    snprintf(path, sizeof(path), "%s/repo/locked", posix_root);
    CU_ASSERT_EQUAL_FATAL(chmod(path, 0500), 0);
    CU_ASSERT_EQUAL(pgb_storage_put(storage, "locked/b", "x", 1, 0), PGB_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), path));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "Permission denied"));
    chmod(path, 0700);
    clear_all();
}

static void test_posix_url_forms(void)
{
    pgb_storage *s;
    CU_ASSERT_EQUAL(pgb_storage_open(&s, ctx, "s3x://bucket/prefix", NULL), PGB_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "s3x"));
    CU_ASSERT_EQUAL(pgb_storage_open(&s, ctx, "file://relative", NULL), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_storage_open(&s, ctx, "", NULL), PGB_EINVALID);
    /* A plain path and its file:// URL reach the same objects. */
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, "same/x", "42", 2, 0), PGB_OK);
    char path[128];
    snprintf(path, sizeof(path), "%s/repo/", posix_root);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, path, NULL), PGB_OK);
    uint64_t size = 0;
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "same/x", &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 2);
    pgb_storage_free(s);
    clear_all();
}

/* ---- callbacks only ---- */

static int failing_stat(void *payload, const char *key, uint64_t *size)
{
    (void)payload, (void)key, (void)size;
    return PGB_EIO;
}

static void test_callbacks_failure_without_message_names_the_key(void)
{
    pgb_storage_ops ops = memory_ops;
    ops.stat = failing_stat;
    pgb_storage *s;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_from_callbacks(&s, ctx, &ops, calloc(1, sizeof(struct memory_store)),
                                                     "flaky-store"), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "some/key", NULL), PGB_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "flaky-store"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "some/key"));
    pgb_storage_free(s);
    pgb_storage_ops incomplete = memory_ops;
    incomplete.list = NULL;
    CU_ASSERT_EQUAL(pgb_storage_from_callbacks(&s, ctx, &incomplete, NULL, "x"), PGB_EINVALID);
    pgb_storage_ops future = memory_ops;
    future.version = 99;
    CU_ASSERT_EQUAL(pgb_storage_from_callbacks(&s, ctx, &future, NULL, "x"), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "version 99"));
}

#define CASE(name) {#name, test_##name}

static void stop_servers(void)
{
    pgb_test_server_free(&s3_server);
    pgb_test_server_free(&ssh_server);
}

/* Start a server; 1 when its suites run (running, or failing under CI), 0 when they are left out. */
static int start_server(struct pgb_test_server *server, const char *kind, int *started)
{
    int rc = pgb_test_server_start(server, kind, NULL);
    *started = rc == 0 ? 1 : rc == 2 ? 2 : -1;
    return *started != 2 || pgb_test_in_ci();
}

int main(void)
{
    atexit(stop_servers);
    int with_s3 = start_server(&s3_server, "s3rver", &s3_started);
    int with_sftp = start_server(&ssh_server, "sshd", &ssh_started);
    CU_TestInfo common[] = {
        CASE(server_is_running),
        CASE(put_then_get_returns_the_same_bytes),
        CASE(object_is_invisible_until_commit),
        CASE(abort_leaves_nothing),
        CASE(commit_replaces_unless_told_not_to),
        CASE(range_read_returns_the_slice),
        CASE(list_returns_keys_under_a_prefix),
        CASE(list_callback_can_stop_the_listing),
        CASE(remove_deletes_and_tolerates_absence),
        CASE(missing_object_is_not_found_by_name),
        CASE(bad_keys_are_refused),
        CASE(writer_killed_mid_object_leaves_nothing_visible),
        CU_TEST_INFO_NULL,
    };
    CU_TestInfo posix_only[] = {
        CASE(posix_files_are_private),
        CASE(posix_errors_name_path_and_system_error),
        CASE(posix_url_forms),
        CU_TEST_INFO_NULL,
    };
    CU_TestInfo callbacks_only[] = {
        CASE(callbacks_failure_without_message_names_the_key),
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {
        {"conformance/posix", setup_posix, teardown, NULL, NULL, common},
        {"posix", setup_posix, teardown, NULL, NULL, posix_only},
        {"conformance/callbacks", setup_callbacks, teardown, NULL, NULL, common},
        {"callbacks", setup_callbacks, teardown, NULL, NULL, callbacks_only},
        CU_SUITE_INFO_NULL,
        CU_SUITE_INFO_NULL,
        CU_SUITE_INFO_NULL,
    };
    int n = 4;
    if (with_s3)
        suites[n++] = (CU_SuiteInfo){"conformance/s3", setup_s3, teardown, NULL, NULL, common};
    if (with_sftp)
        suites[n++] = (CU_SuiteInfo){"conformance/sftp", setup_sftp, teardown, NULL, NULL, common};
    return pgb_test_run(suites);
}
