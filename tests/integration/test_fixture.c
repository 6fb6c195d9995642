/*
 * The test fixture itself: it really starts PostgreSQL, and the server and its
 * folder are gone afterwards, also when the test process is killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "pg_fixture.h"
#include "test_main.h"

static int port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Waits up to 60 s for the port to close and the folder to go. */
static int gone(int port, const char *dir)
{
    for (int i = 0; i < 600; i++) {
        if (!port_accepts(port) && !exists(dir))
            return 1;
        usleep(100000);
    }
    return 0;
}

static void test_fixture_starts_a_server_that_answers_sql(void)
{
    struct pg_fixture f;
    int rc = pg_fixture_start(&f, (const char *const[]){"max_wal_senders = 4", NULL});
    if (rc != 0)
        fprintf(stderr, "fixture: %s\n", f.error);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(port_accepts(f.port));
    char out[64];
    CU_ASSERT_EQUAL(pg_fixture_psql(&f, "SELECT 6 * 7", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "42");
    CU_ASSERT_EQUAL(pg_fixture_psql(&f, "SHOW max_wal_senders", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "4");
    CU_ASSERT_EQUAL(pg_fixture_psql(&f, "SHOW data_checksums", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "on");
    CU_ASSERT_EQUAL(pg_fixture_psql(&f, "SELECT 1/0", out, sizeof(out)), 1); /* psql: the SQL failed */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", f.dir);
    pg_fixture_stop(&f);
    CU_ASSERT(!port_accepts(f.port));
    CU_ASSERT(!exists(dir));
}

static void test_server_is_stopped_when_the_test_process_is_killed(void)
{
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t child = fork();
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        struct pg_fixture f;
        close(fds[0]);
        if (pg_fixture_start(&f, NULL) != 0)
            _exit(1);
        char report[PATH_MAX + 32];
        int n = snprintf(report, sizeof(report), "%d %s\n", f.port, f.dir);
        if (write(fds[1], report, (size_t)n) != n)
            _exit(1);
        raise(SIGKILL); /* dies without any chance to clean up */
        _exit(1);
    }
    close(fds[1]);
    char report[PATH_MAX + 32] = {0};
    ssize_t n = read(fds[0], report, sizeof(report) - 1);
    close(fds[0]);
    int status;
    waitpid(child, &status, 0);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int port = 0;
    char dir[PATH_MAX] = {0};
    CU_ASSERT_FATAL(sscanf(report, "%d %4095s", &port, dir) == 2);
    CU_ASSERT(gone(port, dir));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"fixture_starts_a_server_that_answers_sql", test_fixture_starts_a_server_that_answers_sql},
        {"server_is_stopped_when_the_test_process_is_killed",
         test_server_is_stopped_when_the_test_process_is_killed},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"fixture", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
