/*
 * What the S3 backend does beyond the conformance suite, against a real
 * s3rver started on a loopback port: multipart uploads with parallel parts,
 * listing with continuation, batched deletes, create-only commits racing
 * under a lease, objects a standard client (aws s3) reads, clear errors for
 * an unknown access key and a missing server, a server stopped in the middle
 * of an upload, TLS verified by default, virtual-hosted addressing; and, on
 * a request-capturing endpoint (s3rver ignores them), the encryption,
 * storage class, Object Lock and Content-MD5 headers and the abort of a
 * multipart upload.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include <pgbackup/pgbackup.h>

#include "core/base64.h"
#include "core/hex.h"
#include "storage/s3_backend.h"
#include "storage/storage.h"
#include "storage_servers.h"
#include "test_main.h"

void pgb_s3_backend_set_list_page_size(void *payload, int size);

static struct pgb_test_server server;
static int server_state; /* 1 running, 2 not installed, -1 failed */
static pgb_ctx *ctx;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A storage under s3://pgbackup-test/s3tests/<sub> with the test options and pairs of extra ones. */
static pgb_storage *open_s3(const char *sub, const char *const *pairs)
{
    pgb_options *o = NULL;
    pgb_storage *s = NULL;
    CU_ASSERT_EQUAL_FATAL(server_state, 1);
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_test_s3_options(&server, o), 0);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, "s3-part-size", "5"), PGB_OK);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    char url[200];
    snprintf(url, sizeof(url), "s3://" PGB_TEST_BUCKET "/s3tests/%s", sub);
    int rc = pgb_storage_open(&s, ctx, url, o);
    if (rc != PGB_OK)
        fprintf(stderr, "\n%s\n", pgb_ctx_errmsg(ctx));
    pgb_options_free(o);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    return s;
}

static uint8_t *pattern(size_t size, unsigned seed)
{
    uint8_t *data = malloc(size ? size : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        data[i] = (uint8_t)x;
    }
    return data;
}

static int write_in_pieces(pgb_storage *s, const char *key, const uint8_t *data, size_t size, int flags)
{
    pgb_storage_writer *w;
    int rc = pgb_storage_writer_open(&w, s, key, flags);
    for (size_t done = 0; rc == PGB_OK && done < size; done += 100000)
        rc = pgb_storage_writer_write(w, data + done, size - done < 100000 ? size - done : 100000);
    if (rc != PGB_OK) {
        pgb_storage_writer_abort(w);
        return rc;
    }
    return pgb_storage_writer_commit(w);
}

struct key_list {
    char keys[64][160];
    int count;
};

static int collect(const char *key, uint64_t size, void *payload)
{
    (void)size;
    struct key_list *l = payload;
    if (l->count < 64)
        snprintf(l->keys[l->count++], sizeof(l->keys[0]), "%s", key);
    return 0;
}

/* Run a shell command with the test server's endpoint and credentials for aws; its output into out. */
static int aws(const char *arguments, char *out, size_t out_size)
{
    char command[1024];
    snprintf(command, sizeof(command),
             "AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true aws --endpoint-url http://127.0.0.1:%d "
             "%s 2>&1",
             server.port, arguments);
    FILE *p = popen(command, "r");
    if (!p)
        return -1;
    char own[4096];
    if (!out) { /* keep the output anyway, to show it when the command fails */
        out = own;
        out_size = sizeof(own);
    }
    size_t n = fread(out, 1, out_size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0)
        fprintf(stderr, "aws %s: exit %d: %s\n", arguments, code, out);
    return code;
}

/* ---- cases ---- */

static void test_large_object_goes_up_in_parallel_parts_and_reads_back_by_range(void)
{
    pgb_storage *s = open_s3("multipart", NULL);
    size_t size = 23u << 20; /* five parts of 5 MiB, the last short */
    uint8_t *data = pattern(size, 1);
    CU_ASSERT_EQUAL_FATAL(write_in_pieces(s, "packs/big", data, size, 0), PGB_OK);
    uint64_t stored = 0;
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "packs/big", &stored), PGB_OK);
    CU_ASSERT_EQUAL(stored, size);
    void *back = NULL;
    size_t back_size = 0;
    CU_ASSERT_EQUAL(pgb_storage_get(s, "packs/big", &back, &back_size), PGB_OK);
    CU_ASSERT(back_size == size && memcmp(back, data, size) == 0);
    pgb_free(back);
    /* A range across the boundary of parts 1 and 2. */
    pgb_storage_reader *r;
    uint64_t offset = (5u << 20) - 1000;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_reader_open(&r, s, "packs/big", offset, 3000), PGB_OK);
    uint8_t slice[4000];
    size_t total = 0, got;
    do {
        CU_ASSERT_EQUAL_FATAL(pgb_storage_reader_read(r, slice + total, sizeof(slice) - total, &got), PGB_OK);
        total += got;
    } while (got > 0);
    pgb_storage_reader_close(r);
    CU_ASSERT_EQUAL(total, 3000);
    CU_ASSERT(memcmp(slice, data + offset, 3000) == 0);
    free(data);
    pgb_storage_free(s);
}

static void test_aborted_multipart_upload_leaves_no_object(void)
{
    pgb_storage *s = open_s3("aborted", NULL);
    size_t size = 12u << 20;
    uint8_t *data = pattern(size, 2);
    pgb_storage_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_writer_open(&w, s, "packs/never", 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_writer_write(w, data, size), PGB_OK); /* two parts are up */
    pgb_storage_writer_abort(w);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "packs/never", NULL), PGB_ENOTFOUND);
    struct key_list l = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(s, "", collect, &l), PGB_OK);
    CU_ASSERT_EQUAL(l.count, 0);
    free(data);
    pgb_storage_free(s);
}

static void test_listing_follows_continuation_tokens(void)
{
    pgb_storage *s = open_s3("paged", NULL);
    char key[32];
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof(key), "wal/%02d", i);
        CU_ASSERT_EQUAL(pgb_storage_put(s, key, "x", 1, 0), PGB_OK);
    }
    pgb_s3_backend_set_list_page_size(s->payload, 2);
    struct key_list l = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(s, "wal/", collect, &l), PGB_OK);
    if (l.count != 7)
        fprintf(stderr, "\n%s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL(l.count, 7);
    pgb_storage_free(s);
}

static void test_batched_remove_deletes_every_key(void)
{
    pgb_storage *s = open_s3("batch", NULL);
    const char *keys[] = {"a/1", "a/2", "b/3", "c/4", "never/there"};
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(pgb_storage_put(s, keys[i], "x", 1, 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "kept", "y", 1, 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_remove_many(s, keys, 5), PGB_OK);
    struct key_list l = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(s, "", collect, &l), PGB_OK);
    CU_ASSERT_EQUAL(l.count, 1);
    CU_ASSERT_STRING_EQUAL(l.keys[0], "kept");
    pgb_storage_free(s);
}

static void test_create_only_races_have_one_winner_under_a_lease(void)
{
    pgb_storage *s = open_s3("race", NULL);
    /* s3rver ignores If-None-Match: the probe must find that out and choose the lease. */
    CU_ASSERT_EQUAL(pgb_storage_put(s, "probe-first", "x", 1, PGB_STORAGE_NO_OVERWRITE), PGB_OK);
    CU_ASSERT_EQUAL(((struct s3_backend *)s->payload)->conditional, 0);
    enum { CHILDREN = 6 };
    pid_t children[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        children[i] = fork();
        if (children[i] == 0) {
            pgb_ctx *c;
            pgb_options *o;
            pgb_storage *cs;
            char value[16];
            snprintf(value, sizeof(value), "child %d", i);
            if (pgb_ctx_new(&c) != PGB_OK || pgb_options_new(&o, c) != PGB_OK || pgb_test_s3_options(&server, o) ||
                pgb_storage_open(&cs, c, "s3://" PGB_TEST_BUCKET "/s3tests/race", o) != PGB_OK)
                _exit(3);
            int rc = pgb_storage_put(cs, "catalog/record", value, strlen(value), PGB_STORAGE_NO_OVERWRITE);
            _exit(rc == PGB_OK ? 0 : rc == PGB_EEXISTS ? 1 : 2);
        }
    }
    int winners = 0, losers = 0, winner = -1;
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        waitpid(children[i], &status, 0);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 9;
        if (code == 0) {
            winners++;
            winner = i;
        }
        losers += code == 1;
    }
    CU_ASSERT_EQUAL(winners, 1);
    CU_ASSERT_EQUAL(losers, CHILDREN - 1);
    void *back = NULL;
    size_t size;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(s, "catalog/record", &back, &size), PGB_OK);
    char expected[32];
    snprintf(expected, sizeof(expected), "child %d", winner);
    CU_ASSERT(size == strlen(expected) && memcmp(back, expected, size) == 0);
    pgb_free(back);
    /* A multipart create-only commit is refused the same way, and leaves no claim behind. */
    size_t big = 11u << 20;
    uint8_t *data = pattern(big, 3);
    CU_ASSERT_EQUAL(write_in_pieces(s, "wal/segment", data, big, PGB_STORAGE_NO_OVERWRITE), PGB_OK);
    CU_ASSERT_EQUAL(write_in_pieces(s, "wal/segment", data, big, PGB_STORAGE_NO_OVERWRITE), PGB_EEXISTS);
    free(data);
    char out[4096];
    aws("s3 ls --recursive s3://" PGB_TEST_BUCKET "/s3tests/race/.pgbackup/", out, sizeof(out));
    CU_ASSERT_PTR_NULL(strstr(out, "claims"));
    pgb_storage_free(s);
}

static void test_objects_are_readable_with_aws_cli_under_the_same_keys(void)
{
    pgb_storage *s = open_s3("layout", NULL);
    const char *keys[] = {"pgbackup.repo", "clusters/main/wal/00000001/000000010000000000000001",
                          "clusters/main/packs/ab/abcdef"};
    size_t sizes[] = {100, 70000, 12u << 20};
    for (int i = 0; i < 3; i++) {
        uint8_t *data = pattern(sizes[i], 10 + (unsigned)i);
        CU_ASSERT_EQUAL(write_in_pieces(s, keys[i], data, sizes[i], 0), PGB_OK);
        free(data);
    }
    char out[8192];
    CU_ASSERT_EQUAL_FATAL(aws("s3 ls --recursive s3://" PGB_TEST_BUCKET "/s3tests/layout/", out, sizeof(out)), 0);
    int lines = 0;
    for (char *p = out; (p = strchr(p, '\n')); p++)
        lines++;
    CU_ASSERT_EQUAL(lines, 3);
    for (int i = 0; i < 3; i++) {
        char expected[200];
        snprintf(expected, sizeof(expected), " s3tests/layout/%s\n", keys[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, expected));
        char file[200], command[400];
        snprintf(file, sizeof(file), "%s/aws-copy", server.dir);
        snprintf(command, sizeof(command), "s3 cp s3://" PGB_TEST_BUCKET "/s3tests/layout/%s %s", keys[i], file);
        CU_ASSERT_EQUAL(aws(command, NULL, 0), 0);
        FILE *f = fopen(file, "rb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        uint8_t *copy = malloc(sizes[i] + 1);
        size_t n = fread(copy, 1, sizes[i] + 1, f);
        fclose(f);
        uint8_t *data = pattern(sizes[i], 10 + (unsigned)i);
        CU_ASSERT(n == sizes[i] && memcmp(copy, data, n) == 0);
        free(copy);
        free(data);
    }
    pgb_storage_free(s);
}

static void test_unknown_access_key_is_a_clear_error(void)
{
    setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY", 1);
    pgb_storage *s = NULL;
    pgb_options *o;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", server.port);
    pgb_options_set(o, "s3-endpoint", endpoint);
    pgb_options_set(o, "s3-uri-style", "path");
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, "s3://" PGB_TEST_BUCKET "/s3tests/auth", o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "records/x", "x", 1, 0), PGB_EAUTH);
    const char *message = pgb_ctx_errmsg(ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "InvalidAccessKeyId"));
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "HTTP 403"));
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "s3://" PGB_TEST_BUCKET "/s3tests/auth/records/x"));
    CU_ASSERT_PTR_NULL(strstr(message, "S3RVER")); /* never the secret */
    pgb_storage_free(s);
    /* No credentials anywhere: said at open, with where they are looked for. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    pgb_options_set(o, "s3-credentials-file", "/nonexistent/credentials");
    CU_ASSERT_EQUAL(pgb_storage_open(&s, ctx, "s3://" PGB_TEST_BUCKET "/s3tests/auth", o), PGB_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "AWS_ACCESS_KEY_ID"));
    /* A credentials file and a profile. */
    char file[200];
    snprintf(file, sizeof(file), "%s/credentials", server.dir);
    FILE *f = fopen(file, "w");
    fprintf(f, "[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n[backup]\n"
               "aws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n");
    fclose(f);
    pgb_options_set(o, "s3-credentials-file", file);
    pgb_options_set(o, "s3-profile", "backup");
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, "s3://" PGB_TEST_BUCKET "/s3tests/auth", o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "records/y", "y", 1, 0), PGB_OK);
    pgb_storage_free(s);
    pgb_options_free(o);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
}

static void test_server_stopped_mid_upload_fails_cleanly_and_shows_nothing(void)
{
    const char *options[] = {"storage-timeout", "4", NULL};
    pgb_storage *s = open_s3("fault", options);
    size_t size = 12u << 20;
    uint8_t *data = pattern(size, 4);
    pgb_storage_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_writer_open(&w, s, "packs/interrupted", 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_writer_write(w, data, 6u << 20), PGB_OK); /* part 1 on its way */
    pgb_test_server_stop(&server);
    double start = now();
    int rc = pgb_storage_writer_write(w, data + (6u << 20), size - (6u << 20));
    if (rc == PGB_OK)
        rc = pgb_storage_writer_commit(w);
    else
        pgb_storage_writer_abort(w);
    double took = now() - start;
    CU_ASSERT(rc == PGB_ECONNECTION || rc == PGB_EIO);
    CU_ASSERT(took < 15.0); /* within the timeout (4 s per request, a few requests), never a hang */
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "s3tests/fault/packs/interrupted"));
    CU_ASSERT_EQUAL_FATAL(pgb_test_server_restart(&server), 0);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "packs/interrupted", NULL), PGB_ENOTFOUND);
    struct key_list l = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(s, "", collect, &l), PGB_OK);
    CU_ASSERT_EQUAL(l.count, 0);
    free(data);
    pgb_storage_free(s);
}

static void test_server_back_within_the_timeout_is_retried_transparently(void)
{
    const char *options[] = {"storage-timeout", "30", NULL};
    pgb_storage *s = open_s3("retry", options);
    uint8_t *data = pattern(1u << 20, 5);
    pgb_test_server_stop(&server);
    pid_t restarter = fork();
    if (restarter == 0) {
        usleep(1500000);
        _exit(pgb_test_server_restart(&server) == 0 ? 0 : 1);
    }
    CU_ASSERT_EQUAL(pgb_storage_put(s, "wal/segment", data, 1u << 20, PGB_STORAGE_NO_OVERWRITE), PGB_OK);
    int status;
    waitpid(restarter, &status, 0);
    server.running = 1;
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    void *back = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL(pgb_storage_get(s, "wal/segment", &back, &size), PGB_OK);
    CU_ASSERT(size == 1u << 20 && back && memcmp(back, data, size) == 0);
    pgb_free(back);
    free(data);
    pgb_storage_free(s);
}

static void test_hung_server_ends_in_an_error_within_the_timeout(void)
{
    const char *options[] = {"storage-timeout", "3", NULL};
    pgb_storage *s = open_s3("hung", options);
    char pid_file[200];
    snprintf(pid_file, sizeof(pid_file), "%s/s3rver.pid", server.dir);
    FILE *f = fopen(pid_file, "r");
    int pid = 0;
    CU_ASSERT_FATAL(f && fscanf(f, "%d", &pid) == 1);
    fclose(f);
    kill(-pid, SIGSTOP);
    double start = now();
    int rc = pgb_storage_stat(s, "records/any", NULL);
    double took = now() - start;
    kill(-pid, SIGCONT);
    CU_ASSERT_EQUAL(rc, PGB_ECONNECTION);
    CU_ASSERT(took >= 2.5 && took < 8.0);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "s3tests/hung/records/any"));
    pgb_storage_free(s);
}

static void test_tls_is_verified_unless_said_otherwise(void)
{
    struct pgb_test_server tls;
    CU_ASSERT_EQUAL_FATAL(pgb_test_server_start(&tls, "s3rver", "tls"), 0);
    char endpoint[64], ca[200];
    snprintf(endpoint, sizeof(endpoint), "https://127.0.0.1:%d", tls.port);
    snprintf(ca, sizeof(ca), "%s/ca.pem", tls.dir);
    pgb_options *o;
    pgb_storage *s;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    pgb_options_set(o, "s3-endpoint", endpoint);
    pgb_options_set(o, "s3-uri-style", "path");
    pgb_options_set(o, "storage-timeout", "5");
    /* The system's CAs do not know the test CA: refused, saying why. */
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, "s3://" PGB_TEST_BUCKET "/tls", o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "x", "x", 1, 0), PGB_ECONNECTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "certificate"));
    pgb_storage_free(s);
    /* With the CA file. */
    pgb_options_set(o, "s3-ca-file", ca);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, "s3://" PGB_TEST_BUCKET "/tls", o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "x", "x", 1, 0), PGB_OK);
    pgb_storage_free(s);
    /* Without verification, only when said outright. */
    pgb_options_unset(o, "s3-ca-file");
    pgb_options_set(o, "s3-no-verify-tls", "true");
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, "s3://" PGB_TEST_BUCKET "/tls", o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "x", NULL), PGB_OK);
    pgb_storage_free(s);
    pgb_options_free(o);
    pgb_test_server_free(&tls);
}

static void test_virtual_hosted_addressing_reaches_the_same_objects(void)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://s3.localhost:%d", server.port);
    const char *options[] = {"s3-endpoint", endpoint, "s3-uri-style", "host", NULL};
    pgb_storage *vhost = open_s3("vhost", options);
    CU_ASSERT_EQUAL(pgb_storage_put(vhost, "a/b", "hosted", 6, 0), PGB_OK);
    struct key_list l = {0};
    CU_ASSERT_EQUAL(pgb_storage_list(vhost, "", collect, &l), PGB_OK);
    CU_ASSERT_EQUAL(l.count, 1);
    pgb_storage *path = open_s3("vhost", NULL);
    void *back = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL(pgb_storage_get(path, "a/b", &back, &size), PGB_OK);
    CU_ASSERT(size == 6 && memcmp(back, "hosted", 6) == 0);
    pgb_free(back);
    pgb_storage_free(path);
    pgb_storage_free(vhost);
}

static void test_reopened_handle_reaches_the_same_objects(void)
{
    pgb_storage *s = open_s3("reopen", NULL);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "k", "v", 1, 0), PGB_OK);
    pgb_ctx *other_ctx;
    pgb_storage *other;
    CU_ASSERT_EQUAL_FATAL(pgb_ctx_new(&other_ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_reopen(&other, other_ctx, s), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_storage_name(other), pgb_storage_name(s));
    uint64_t size = 0;
    CU_ASSERT_EQUAL(pgb_storage_stat(other, "k", &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 1);
    pgb_storage_free(other);
    pgb_ctx_free(other_ctx);
    pgb_storage_free(s);
}

/* ---- on a request-capturing endpoint ---- */

static json_t *captured(const char *log_file)
{
    json_t *all = json_array();
    FILE *f = fopen(log_file, "r");
    char *line = NULL;
    size_t capacity = 0;
    while (f && getline(&line, &capacity, f) > 0)
        json_array_append_new(all, json_loads(line, 0, NULL));
    free(line);
    if (f)
        fclose(f);
    return all;
}

static const char *header(json_t *request, const char *name)
{
    return json_string_value(json_object_get(json_object_get(request, "headers"), name));
}

/* Start tests/support/s3_capture.py in dir; returns its pid and sets *port. */
static pid_t start_capture(const char *dir, int *port)
{
    char port_file[64], log_file[64];
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    snprintf(log_file, sizeof(log_file), "%s/requests", dir);
    pid_t capture = fork();
    if (capture == 0) {
        execl("/usr/bin/python3", "python3", PGB_TEST_SUPPORT_DIR "/s3_capture.py", port_file, log_file, (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (int i = 0; i < 100 && *port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", port) != 1)
                *port = 0;
            fclose(f);
        }
        if (!*port)
            usleep(50000);
    }
    return capture;
}

static void test_slowdown_is_retried_and_a_lasting_500_named(void)
{
    char dir[] = "/tmp/pgb-capture-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    int port;
    pid_t capture = start_capture(dir, &port);
    CU_ASSERT_FATAL(port > 0);
    char endpoint[64], log_file[64], command[100];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
    snprintf(log_file, sizeof(log_file), "%s/requests", dir);
    pgb_options *o;
    pgb_storage *s;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    const char *pairs[] = {"s3-endpoint", endpoint, "s3-uri-style", "path", "storage-timeout", "3", NULL};
    for (size_t i = 0; pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, "s3://captured-bucket/repo", o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "slowdown/x", "x", 1, 0), PGB_OK);
    double start = now();
    CU_ASSERT_EQUAL(pgb_storage_put(s, "broken/y", "y", 1, 0), PGB_EIO);
    double took = now() - start;
    CU_ASSERT(took > 1.0 && took < 6.0); /* retried until the timeout, then given up */
    const char *message = pgb_ctx_errmsg(ctx);
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "HTTP 500 InternalError"));
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "s3://captured-bucket/repo/broken/y"));
    pgb_storage_free(s);
    pgb_options_free(o);
    kill(capture, SIGTERM);
    waitpid(capture, NULL, 0);
    json_t *requests = captured(log_file);
    int slowdown = 0, broken = 0;
    size_t i;
    json_t *request;
    json_array_foreach(requests, i, request) {
        const char *path = json_string_value(json_object_get(request, "path"));
        slowdown += strcmp(path, "/captured-bucket/repo/slowdown/x") == 0;
        broken += strcmp(path, "/captured-bucket/repo/broken/y") == 0;
    }
    CU_ASSERT_EQUAL(slowdown, 2); /* 503 SlowDown, then success */
    CU_ASSERT(broken >= 3);      /* backoff with jitter: several attempts within 3 s */
    json_decref(requests);
    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(command), 0);
}

static void test_encryption_class_and_object_lock_headers_are_sent_and_signed(void)
{
    char dir[] = "/tmp/pgb-capture-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char log_file[64], command[300];
    (void)command;
    snprintf(log_file, sizeof(log_file), "%s/requests", dir);
    int port;
    pid_t capture = start_capture(dir, &port);
    CU_ASSERT_FATAL(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
    pgb_options *o;
    pgb_storage *s;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    const char *pairs[] = {"s3-endpoint", endpoint, "s3-uri-style", "path", "s3-part-size", "5",
                           "s3-sse", "aws:kms", "s3-sse-kms-key-id", "key-1", "s3-storage-class", "STANDARD_IA",
                           "s3-object-lock", "governance", "s3-object-lock-days", "7", NULL};
    for (size_t i = 0; pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, "s3://captured-bucket/repo", o), PGB_OK);
    time_t before = time(NULL);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "small", "hello", 5, 0), PGB_OK);
    size_t big = 11u << 20;
    uint8_t *data = pattern(big, 6);
    CU_ASSERT_EQUAL(write_in_pieces(s, "big", data, big, 0), PGB_OK);
    /* An abandoned multipart upload is aborted on the server. */
    pgb_storage_writer *w;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_writer_open(&w, s, "abandoned", 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_writer_write(w, data, big), PGB_OK);
    pgb_storage_writer_abort(w);
    free(data);
    pgb_storage_free(s);
    pgb_options_free(o);
    kill(capture, SIGTERM);
    waitpid(capture, NULL, 0);

    json_t *requests = captured(log_file);
    int puts = 0, creates = 0, parts = 0, completes = 0, aborts = 0;
    size_t i;
    json_t *request;
    char expected_until[40];
    json_array_foreach(requests, i, request) {
        const char *method = json_string_value(json_object_get(request, "method"));
        const char *path = json_string_value(json_object_get(request, "path"));
        json_t *query = json_object_get(request, "query");
        const char *authorization = header(request, "authorization");
        CU_ASSERT_PTR_NOT_NULL(authorization);
        int is_part = json_object_get(query, "partNumber") != NULL;
        int carries_object = (strcmp(method, "PUT") == 0 && !is_part) ||
                             (strcmp(method, "POST") == 0 && json_object_get(query, "uploads"));
        if (carries_object) {
            CU_ASSERT_STRING_EQUAL(header(request, "x-amz-server-side-encryption"), "aws:kms");
            CU_ASSERT_STRING_EQUAL(header(request, "x-amz-server-side-encryption-aws-kms-key-id"), "key-1");
            CU_ASSERT_STRING_EQUAL(header(request, "x-amz-storage-class"), "STANDARD_IA");
            CU_ASSERT_STRING_EQUAL(header(request, "x-amz-object-lock-mode"), "GOVERNANCE");
            const char *until = header(request, "x-amz-object-lock-retain-until-date");
            CU_ASSERT_PTR_NOT_NULL_FATAL(until);
            time_t seven_days = before + 7 * 86400;
            struct tm tm;
            gmtime_r(&seven_days, &tm);
            strftime(expected_until, sizeof(expected_until), "%Y-%m-%dT", &tm);
            CU_ASSERT_EQUAL(strncmp(until, expected_until, 11), 0);
            /* Signed, so a proxy cannot strip them. */
            CU_ASSERT_PTR_NOT_NULL(strstr(authorization, "x-amz-object-lock-mode;x-amz-object-lock-retain-until-date"));
            CU_ASSERT_PTR_NOT_NULL(strstr(authorization, "x-amz-server-side-encryption;"));
            CU_ASSERT_PTR_NOT_NULL(strstr(authorization, "x-amz-storage-class"));
        }
        if ((strcmp(method, "PUT") == 0)) {
            /* Object Lock needs Content-MD5 on every request with data: it must be the body's. */
            const char *md5 = header(request, "content-md5");
            CU_ASSERT_PTR_NOT_NULL(md5);
            CU_ASSERT_PTR_NOT_NULL(strstr(authorization, "content-md5;"));
            uint8_t raw[16];
            size_t raw_size = 0;
            char hex[33] = "";
            if (md5 && pgb_base64_decode(md5, strlen(md5), raw, sizeof(raw), &raw_size) == 0 && raw_size == 16)
                pgb_hex_encode(raw, 16, hex);
            CU_ASSERT(raw_size == 16 && strcmp(hex, json_string_value(json_object_get(request, "md5"))) == 0);
        }
        puts += strcmp(method, "PUT") == 0 && !is_part && strcmp(path, "/captured-bucket/repo/small") == 0;
        creates += strcmp(method, "POST") == 0 && json_object_get(query, "uploads") != NULL;
        parts += is_part;
        completes += strcmp(method, "POST") == 0 && json_object_get(query, "uploadId") != NULL;
        aborts += strcmp(method, "DELETE") == 0 && json_object_get(query, "uploadId") != NULL &&
                  strcmp(path, "/captured-bucket/repo/abandoned") == 0;
    }
    CU_ASSERT_EQUAL(puts, 1);
    CU_ASSERT_EQUAL(creates, 2);
    CU_ASSERT_EQUAL(parts, 3 + 2); /* big: 5 + 5 + 1 MiB; abandoned: the two full parts */
    CU_ASSERT_EQUAL(completes, 1);
    CU_ASSERT_EQUAL(aborts, 1);
    json_decref(requests);
    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(command), 0);
}

static int setup(void)
{
    if (pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    int rc = pgb_test_server_start(&server, "s3rver", NULL);
    server_state = rc == 0 ? 1 : rc == 2 ? 2 : -1;
    return 0;
}

static int teardown(void)
{
    pgb_test_server_free(&server);
    pgb_ctx_free(ctx);
    return 0;
}

#define CASE(name) {#name, test_##name}

int main(void)
{
    CU_TestInfo cases[] = {
        CASE(large_object_goes_up_in_parallel_parts_and_reads_back_by_range),
        CASE(aborted_multipart_upload_leaves_no_object),
        CASE(listing_follows_continuation_tokens),
        CASE(batched_remove_deletes_every_key),
        CASE(create_only_races_have_one_winner_under_a_lease),
        CASE(objects_are_readable_with_aws_cli_under_the_same_keys),
        CASE(unknown_access_key_is_a_clear_error),
        CASE(reopened_handle_reaches_the_same_objects),
        CASE(virtual_hosted_addressing_reaches_the_same_objects),
        CASE(tls_is_verified_unless_said_otherwise),
        CASE(encryption_class_and_object_lock_headers_are_sent_and_signed),
        CASE(slowdown_is_retried_and_a_lasting_500_named),
        CASE(hung_server_ends_in_an_error_within_the_timeout),
        CASE(server_stopped_mid_upload_fails_cleanly_and_shows_nothing),
        CASE(server_back_within_the_timeout_is_retried_transparently),
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"s3", setup, teardown, NULL, NULL, cases}, CU_SUITE_INFO_NULL};
    /* Without s3rver (and not under CI) there is nothing to run here: say so and pass. */
    struct pgb_test_server probe;
    if (pgb_test_server_start(&probe, "s3rver", NULL) == 2 && !pgb_test_in_ci()) {
        pgb_test_server_free(&probe);
        printf("s3rver is not installed: S3 backend tests not run\n");
        return 0;
    }
    pgb_test_server_free(&probe);
    return pgb_test_run(suites);
}
