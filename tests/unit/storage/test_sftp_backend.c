/*
 * What the SFTP backend does beyond the conformance suite, against a real
 * OpenSSH server started on a loopback port with its own host key: private
 * files and folders on the server, commits that replace or refuse to,
 * a changed or unknown host key refused with its fingerprint, a key the
 * server does not accept refused clearly, URLs checked, handles reopened
 * for worker threads, and a server gone is an error, never a hang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "storage/storage.h"
#include "storage_servers.h"
#include "test_main.h"

static struct pgb_test_server server;
static int server_state;
static pgb_ctx *ctx;

static pgb_storage *open_sftp(const char *sub, const char *const *pairs, int expected)
{
    pgb_options *o = NULL;
    pgb_storage *s = NULL;
    char url[300];
    CU_ASSERT_EQUAL_FATAL(server_state, 1);
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_test_sftp_options(&server, o, sub, url, sizeof(url)), 0);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    int rc = pgb_storage_open(&s, ctx, url, o);
    pgb_options_free(o);
    CU_ASSERT_EQUAL(rc, expected);
    if (rc != expected)
        fprintf(stderr, "\n%s\n", pgb_ctx_errmsg(ctx));
    return s;
}

static void test_objects_are_private_files_on_the_server(void)
{
    pgb_storage *s = open_sftp("private", NULL, PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(s, "deep/er/file", "x", 1, 0), PGB_OK);
    char path[300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/private/deep/er/file", server.dir);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/private/deep/er", server.dir);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
    /* Replacing leaves one file with the new bytes and nothing hidden behind. */
    CU_ASSERT_EQUAL(pgb_storage_put(s, "deep/er/file", "yz", 2, 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "deep/er/file", "no", 2, PGB_STORAGE_NO_OVERWRITE), PGB_EEXISTS);
    void *back = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL(pgb_storage_get(s, "deep/er/file", &back, &size), PGB_OK);
    CU_ASSERT(size == 2 && memcmp(back, "yz", 2) == 0);
    pgb_free(back);
    char command[400];
    snprintf(command, sizeof(command), "test \"$(ls -A '%s/private/deep/er')\" = file", server.dir);
    CU_ASSERT_EQUAL(system(command), 0);
    pgb_storage_free(s);
}

static void test_unknown_or_changed_host_key_is_refused_with_its_fingerprint(void)
{
    char empty[200], other[200], command[1200];
    snprintf(empty, sizeof(empty), "%s/empty_known_hosts", server.dir);
    FILE *f = fopen(empty, "w");
    fclose(f);
    const char *unknown[] = {"sftp-known-hosts", empty, NULL};
    pgb_storage *s = open_sftp("x", unknown, PGB_EAUTH);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "SHA256:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "is not in"));
    /* Another key recorded for the same host and port: a mismatch, never a connection. */
    snprintf(other, sizeof(other), "%s/other_known_hosts", server.dir);
    snprintf(command, sizeof(command),
             "rm -f '%s/other_key' && ssh-keygen -q -t ed25519 -N '' -f '%s/other_key' && "
             "echo \"[127.0.0.1]:%d $(cut -d' ' -f1,2 '%s/other_key.pub')\" > '%s'",
             server.dir, server.dir, server.port, server.dir, other);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    const char *changed[] = {"sftp-known-hosts", other, NULL};
    s = open_sftp("x", changed, PGB_EAUTH);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "does not match"));
}

static void test_key_the_server_does_not_accept_is_a_clear_error(void)
{
    char key[200], command[600];
    snprintf(key, sizeof(key), "%s/stranger_key", server.dir);
    snprintf(command, sizeof(command), "rm -f '%s' && ssh-keygen -q -t ed25519 -N '' -f '%s'", key, key);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    const char *stranger[] = {"sftp-key", key, NULL};
    char *agent = getenv("SSH_AUTH_SOCK") ? strdup(getenv("SSH_AUTH_SOCK")) : NULL;
    unsetenv("SSH_AUTH_SOCK");
    pgb_storage *s = open_sftp("x", stranger, PGB_EAUTH);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "authentication as"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), key));
    if (agent)
        setenv("SSH_AUTH_SOCK", agent, 1);
    free(agent);
}

static void test_urls_are_checked(void)
{
    pgb_storage *s;
    const char *bad[] = {"sftp://host", "sftp://host:99999/x", "sftp://user@/x", "sftp://user@host:2x/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(pgb_storage_open(&s, ctx, bad[i], NULL), PGB_EINVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), bad[i]));
    }
}

static void test_reopened_handle_has_a_connection_of_its_own(void)
{
    pgb_storage *s = open_sftp("reopen", NULL, PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "k", "v", 1, 0), PGB_OK);
    pgb_ctx *other_ctx;
    pgb_storage *other;
    CU_ASSERT_EQUAL_FATAL(pgb_ctx_new(&other_ctx), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_reopen(&other, other_ctx, s), PGB_OK);
    pgb_storage_free(s); /* the other connection lives on */
    uint64_t size = 0;
    CU_ASSERT_EQUAL(pgb_storage_stat(other, "k", &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 1);
    pgb_storage_free(other);
    pgb_ctx_free(other_ctx);
}

static void test_server_gone_is_an_error_not_a_hang(void)
{
    const char *options[] = {"storage-timeout", "3", NULL};
    pgb_storage *s = open_sftp("gone", options, PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_put(s, "a", "x", 1, 0), PGB_OK);
    pgb_test_server_stop(&server);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc = pgb_storage_put(s, "b", "x", 1, 0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    CU_ASSERT(rc == PGB_ECONNECTION || rc == PGB_EIO);
    CU_ASSERT(end.tv_sec - start.tv_sec < 10);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "gone/b"));
    pgb_storage_free(s);
    CU_ASSERT_EQUAL(pgb_test_server_restart(&server), 0);
}

static int setup(void)
{
    if (pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    int rc = pgb_test_server_start(&server, "sshd", NULL);
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
        CASE(objects_are_private_files_on_the_server),
        CASE(unknown_or_changed_host_key_is_refused_with_its_fingerprint),
        CASE(key_the_server_does_not_accept_is_a_clear_error),
        CASE(urls_are_checked),
        CASE(reopened_handle_has_a_connection_of_its_own),
        CASE(server_gone_is_an_error_not_a_hang),
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"sftp", setup, teardown, NULL, NULL, cases}, CU_SUITE_INFO_NULL};
    struct pgb_test_server probe;
    if (pgb_test_server_start(&probe, "sshd", NULL) == 2 && !pgb_test_in_ci()) {
        pgb_test_server_free(&probe);
        printf("sshd is not installed: SFTP backend tests not run\n");
        return 0;
    }
    pgb_test_server_free(&probe);
    return pgb_test_run(suites);
}
