/*
 * Real storage servers for the unit tests of remote backends: s3rver (S3)
 * and OpenSSH's sshd (SFTP), started on loopback ports by
 * tests/support/test-servers, as the test's own user. When a server's
 * programs are missing, the suites that need it are not run, with a notice;
 * with CI=true that is a failure instead: CI must run every backend.
 */
#ifndef PGB_TEST_STORAGE_SERVERS_H
#define PGB_TEST_STORAGE_SERVERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pgbackup/pgbackup.h>

#ifndef PGB_TEST_SUPPORT_DIR
#error "PGB_TEST_SUPPORT_DIR must name tests/support"
#endif

#define PGB_TEST_BUCKET "pgbackup-test"

struct pgb_test_server {
    char kind[16];
    char dir[128];
    int port;
    int running;
};

static inline int pgb_test_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (strcmp(ci, "true") == 0 || strcmp(ci, "1") == 0);
}

/* Run test-servers KIND ACTION DIR [EXTRA]; returns its exit status and, for start, the port. */
static inline int pgb_test_server_command(struct pgb_test_server *s, const char *action, const char *extra,
                                          int *port)
{
    char command[512];
    snprintf(command, sizeof(command), "%s/test-servers %s %s '%s' %s", PGB_TEST_SUPPORT_DIR, s->kind, action,
             s->dir, extra ? extra : "");
    FILE *out = popen(command, "r");
    if (!out)
        return -1;
    int value = 0;
    if (fscanf(out, "%d", &value) == 1 && port)
        *port = value;
    char rest[256];
    while (fgets(rest, sizeof(rest), out)) /* read everything: a closed pipe would kill the script */
        ;
    int status = pclose(out);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc != 0 && rc != 2)
        fprintf(stderr, "\n%s: status %d\n", command, status);
    return rc;
}

/*
 * Start a server of kind "s3rver" or "sshd" in a new temp folder. Returns 0
 * when it runs; 2 when its programs are not installed (a notice is printed;
 * the caller fails under CI); 1 when it would not start.
 */
static inline int pgb_test_server_start(struct pgb_test_server *s, const char *kind, const char *extra)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->kind, sizeof(s->kind), "%s", kind);
    snprintf(s->dir, sizeof(s->dir), "/tmp/pgb-%s-XXXXXX", kind);
    if (!mkdtemp(s->dir))
        return 1;
    int rc = pgb_test_server_command(s, "start", extra, &s->port);
    if (rc == 0 && s->port > 0) {
        s->running = 1;
        return 0;
    }
    if (rc == 2)
        fprintf(stderr, "\nNOTICE: %s is not installed (scripts/install-deps installs it): its suites %s\n", kind,
                pgb_test_in_ci() ? "FAIL (CI=true)" : "are not run");
    return rc == 2 ? 2 : 1;
}

static inline void pgb_test_server_stop(struct pgb_test_server *s)
{
    if (s->running)
        pgb_test_server_command(s, "stop", NULL, NULL);
    s->running = 0;
}

static inline int pgb_test_server_restart(struct pgb_test_server *s)
{
    int rc = pgb_test_server_command(s, "restart", NULL, NULL);
    s->running = rc == 0;
    return rc;
}

/* Stop and remove the folder. */
static inline void pgb_test_server_free(struct pgb_test_server *s)
{
    pgb_test_server_stop(s);
    if (s->dir[0]) {
        char command[256];
        snprintf(command, sizeof(command), "rm -rf '%s'", s->dir);
        if (system(command) != 0)
            fprintf(stderr, "cannot remove %s\n", s->dir);
    }
    s->dir[0] = '\0';
}

/* S3 options for a running s3rver: endpoint, path-style addressing, credentials in the environment. */
static inline int pgb_test_s3_options(const struct pgb_test_server *s, pgb_options *o)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", s->port);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    return pgb_options_set(o, "s3-endpoint", endpoint) || pgb_options_set(o, "s3-uri-style", "path");
}

/* SFTP options for a running sshd: its client key and known hosts; *url gets sftp://user@127.0.0.1:port/dir/sub. */
static inline int pgb_test_sftp_options(const struct pgb_test_server *s, pgb_options *o, const char *sub, char *url,
                                        size_t url_size)
{
    char key[200], known[200];
    snprintf(key, sizeof(key), "%s/client_key", s->dir);
    snprintf(known, sizeof(known), "%s/known_hosts", s->dir);
    const struct passwd *me = getpwuid(geteuid());
    const char *user = me ? me->pw_name : "pgbtest";
    snprintf(url, url_size, "sftp://%s@127.0.0.1:%d%s/%s", user, s->port, s->dir, sub);
    return pgb_options_set(o, "sftp-key", key) || pgb_options_set(o, "sftp-known-hosts", known);
}

#endif
