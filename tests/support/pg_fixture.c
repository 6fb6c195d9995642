#include "pg_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PGB_TEST_DEFAULT_PG_BINDIR
#define PGB_TEST_DEFAULT_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

const char *pg_fixture_bindir(void)
{
    const char *dir = getenv("PGB_TEST_PG_BINDIR");
    return dir && *dir ? dir : PGB_TEST_DEFAULT_PG_BINDIR;
}

static void fail(struct pg_fixture *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->error, sizeof(f->error), fmt, ap);
    va_end(ap);
}

/* Run a program with its output appended to log (or to out_fd when >= 0); returns its exit status. */
static int run(const char *log, int out_fd, char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = out_fd >= 0 ? out_fd : open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            if (out_fd < 0)
                dup2(fd, STDERR_FILENO);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void stop_server(const char *bindir, const char *dir, const char *mode)
{
    char pg_ctl[PATH_MAX + 16], data[PATH_MAX + 8], pidfile[PATH_MAX + 32], log[PATH_MAX + 16];
    snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", bindir);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(pidfile, sizeof(pidfile), "%s/data/postmaster.pid", dir);
    snprintf(log, sizeof(log), "%s/pg_ctl.log", dir);
    if (access(pidfile, F_OK) != 0)
        return;
    char *argv[] = {pg_ctl, "-D", data, "-m", (char *)mode, "-w", "-t", "60", "stop", NULL};
    run(log, -1, argv);
}

/*
 * The watchdog waits for the test process to close the pipe, which happens when
 * it stops the fixture or dies in any way (failed assertion, abort, SIGKILL).
 * Then it stops whatever server is left and removes the folder.
 */
static void watchdog_main(int read_fd, const char *bindir, const char *dir)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    /* Hold nothing of the test process open, above all other fixtures' pipes. */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != read_fd)
            close(fd);
    char byte;
    for (;;) {
        ssize_t n = read(read_fd, &byte, 1);
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    stop_server(bindir, dir, "immediate");
    remove_tree(dir);
    _exit(0);
}

static int start_watchdog(struct pg_fixture *f)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[1]);
        watchdog_main(fds[0], f->bindir, f->dir);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC); /* servers we start must not hold it open */
    f->watchdog = pid;
    f->watchdog_pipe = fds[1];
    return 0;
}

static int write_settings(struct pg_fixture *f, const char *const *settings)
{
    char conf[PATH_MAX + 32];
    snprintf(conf, sizeof(conf), "%s/postgresql.conf", f->datadir);
    FILE *file = fopen(conf, "a");
    if (!file)
        return -1;
    fprintf(file,
            "\n# pg_fixture\nport = %d\nlisten_addresses = '127.0.0.1'\n"
            "unix_socket_directories = '%s'\nfsync = off\nmax_connections = 30\n"
            "shared_buffers = 32MB\nlogging_collector = off\n",
            f->port, f->dir);
    for (size_t i = 0; settings && settings[i]; i++)
        fprintf(file, "%s\n", settings[i]);
    return fclose(file);
}

int pg_fixture_start(struct pg_fixture *f, const char *const *settings)
{
    memset(f, 0, sizeof(*f));
    f->watchdog_pipe = -1;
    if (geteuid() == 0) {
        fail(f, "PostgreSQL refuses to run as root: run the tests through scripts/test, "
                "which runs them as an unprivileged user");
        return -1;
    }
    snprintf(f->bindir, sizeof(f->bindir), "%s", pg_fixture_bindir());
    const char *tmp = getenv("TMPDIR");
    /* A short path: the socket's full name must fit in 107 bytes. */
    snprintf(f->dir, sizeof(f->dir), "%s/pgbfx-XXXXXX", tmp && strlen(tmp) < 60 ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        fail(f, "cannot make a temp folder %s: %s", f->dir, strerror(errno));
        return -1;
    }
    if (start_watchdog(f) != 0) {
        fail(f, "cannot start the fixture watchdog: %s", strerror(errno));
        remove_tree(f->dir);
        return -1;
    }
    snprintf(f->datadir, sizeof(f->datadir), "%s/data", f->dir);
    char initdb[PATH_MAX + 16], pg_ctl[PATH_MAX + 16], log[PATH_MAX + 16], server_log[PATH_MAX + 16];
    snprintf(initdb, sizeof(initdb), "%s/initdb", f->bindir);
    snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", f->bindir);
    snprintf(log, sizeof(log), "%s/setup.log", f->dir);
    snprintf(server_log, sizeof(server_log), "%s/server.log", f->dir);

    char *initdb_argv[] = {initdb, "-D", f->datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                           "--locale=C", "--data-checksums", "--no-sync", NULL};
    int status = run(log, -1, initdb_argv);
    if (status != 0) {
        fail(f, "initdb failed with status %d; see %s", status, log);
        goto failed;
    }
    /* A port found free can be taken before the server binds it: try a few. */
    for (int attempt = 0; attempt < 5; attempt++) {
        f->port = free_port();
        if (f->port <= 0 || write_settings(f, settings) != 0) {
            fail(f, "cannot choose a port or write postgresql.conf in %s", f->datadir);
            goto failed;
        }
        char *start_argv[] = {pg_ctl, "-D", f->datadir, "-l", server_log, "-w", "-t", "60", "start", NULL};
        status = run(log, -1, start_argv);
        if (status == 0)
            break;
    }
    if (status != 0) {
        fail(f, "pg_ctl start failed with status %d; see %s and %s", status, log, server_log);
        goto failed;
    }
    snprintf(f->conninfo, sizeof(f->conninfo), "host=127.0.0.1 port=%d user=postgres dbname=postgres",
             f->port);
    return 0;
failed:
    /* Keep the logs readable for the message: the watchdog removes the folder later. */
    stop_server(f->bindir, f->dir, "immediate");
    close(f->watchdog_pipe);
    waitpid(f->watchdog, NULL, 0);
    f->watchdog_pipe = -1;
    f->watchdog = 0;
    return -1;
}

void pg_fixture_stop(struct pg_fixture *f)
{
    if (f->watchdog_pipe < 0)
        return;
    stop_server(f->bindir, f->dir, "fast");
    remove_tree(f->dir);
    close(f->watchdog_pipe);
    waitpid(f->watchdog, NULL, 0);
    f->watchdog_pipe = -1;
    f->watchdog = 0;
}

int pg_fixture_psql(const struct pg_fixture *f, const char *sql, char *out, size_t out_size)
{
    char psql[PATH_MAX + 16], port[16], output[PATH_MAX + 16];
    snprintf(psql, sizeof(psql), "%s/psql", f->bindir);
    snprintf(port, sizeof(port), "%d", f->port);
    snprintf(output, sizeof(output), "%s/psql.out", f->dir);
    int fd = open(output, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    char *argv[] = {psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", port,
                    "-U", "postgres", "-d", "postgres", "-c", (char *)sql, NULL};
    int status = run(NULL, fd, argv);
    if (out && out_size > 0) {
        ssize_t n = pread(fd, out, out_size - 1, 0);
        n = n < 0 ? 0 : n;
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
            n--;
        out[n] = '\0';
    }
    close(fd);
    return status;
}
