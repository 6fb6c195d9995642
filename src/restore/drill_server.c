/*
 * Running a scratch PostgreSQL server for a drill. PostgreSQL refuses to run
 * as root, so a root caller names the user it runs as; pg_ctl is started in a
 * child that drops to that user before exec.
 */
#include "restore/drill_server.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "restore/server_pid.h"

int pgb_drill_find_bindir(pgb_ctx *ctx, const char *bindir, int major, char out[512])
{
    char pg_ctl[600];
    if (bindir) {
        snprintf(out, 512, "%s", bindir);
    } else {
        snprintf(out, 512, "/usr/lib/postgresql/%d/bin", major);
        snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", out);
        if (access(pg_ctl, X_OK) != 0) {
            FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
            out[0] = '\0';
            if (p && fgets(out, 512, p))
                out[strcspn(out, "\n")] = '\0';
            if (p)
                pclose(p);
        }
    }
    snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", out);
    if (!out[0] || access(pg_ctl, X_OK) != 0)
        return pgb_error_set(ctx, PGB_ENOTFOUND, "no PostgreSQL %d server programs (pg_ctl) in %s: set pg-bindir",
                             major, out[0] ? out : "/usr/lib/postgresql or pg_config --bindir");
    return PGB_OK;
}

static int free_loopback_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof(address);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
        getsockname(fd, (struct sockaddr *)&address, &length) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int append_text(pgb_ctx *ctx, const char *path, const char *text, int truncate)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0600);
    size_t len = strlen(text);
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    return ok ? PGB_OK : pgb_error_set(ctx, PGB_EIO, "cannot write %s: %s", path, strerror(errno));
}

int pgb_drill_server_configure(pgb_ctx *ctx, struct pgb_drill_server *s)
{
    s->port = free_loopback_port();
    if (s->port <= 0)
        return pgb_error_set(ctx, PGB_EIO, "no free loopback port for the drill's server: %s", strerror(errno));
    char hba[600], conf[600];
    snprintf(hba, sizeof(hba), "%s/drill_hba.conf", s->socket);
    snprintf(conf, sizeof(conf), "%s/postgresql.auto.conf", s->data);
    /*
     * Only the private socket folder's owner can reach the socket: trust is
     * safe there. Nothing else is allowed, replication included ("all" does
     * not match it), so no standby can attach to the scratch server.
     */
    int rc = append_text(ctx, hba, "local all all trust\n", 1);
    char *settings = pgb_text_printf(
        "# Set by pgbackup drill: a scratch server that reaches nothing outside\n"
        "port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nhba_file = '%s'\n"
        "archive_mode = 'off'\nmax_logical_replication_workers = 0\nprimary_conninfo = ''\n"
        "primary_slot_name = ''\nssl = 'off'\nlogging_collector = 'off'\nlog_destination = 'stderr'\n"
        "cluster_name = 'pgbackup-drill'\n",
        s->port, s->socket, hba);
    if (rc == PGB_OK)
        rc = settings ? append_text(ctx, conf, settings, 0) : pgb_error_nomem(ctx);
    free(settings);
    return rc;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return lchown(path, chown_uid, chown_gid) == 0 ? 0 : -1;
}

int pgb_drill_server_chown(pgb_ctx *ctx, const char *folder, const struct pgb_drill_server *s)
{
    if (!s->run_as_other)
        return PGB_OK;
    chown_uid = s->uid;
    chown_gid = s->gid;
    if (nftw(folder, chown_one, 16, FTW_PHYS) != 0)
        return pgb_error_set(ctx, PGB_EIO, "cannot give %s to the drill's user: %s", folder, strerror(errno));
    return PGB_OK;
}

/* Run a server program with args (as the drill's user), output to the server log; its exit status, or -1. */
static int run_program(const struct pgb_drill_server *s, const char *program, const char *const *args)
{
    char pg_ctl[600];
    snprintf(pg_ctl, sizeof(pg_ctl), "%s/%s", s->bindir, program);
    const char *argv[16];
    size_t n = 0;
    argv[n++] = pg_ctl;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int log = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log >= 0 && s->run_as_other && fchown(log, s->uid, s->gid) != 0) {
        close(log);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls from here to exec. */
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        if (s->run_as_other && (setgroups(0, NULL) != 0 || setgid(s->gid) != 0 || setuid(s->uid) != 0))
            _exit(125);
        execv(pg_ctl, (char *const *)argv);
        _exit(127);
    }
    if (log >= 0)
        close(log);
    if (pid < 0)
        return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_pg_ctl(const struct pgb_drill_server *s, const char *const *args)
{
    return run_program(s, "pg_ctl", args);
}

int pgb_drill_server_initdb(pgb_ctx *ctx, const struct pgb_drill_server *s)
{
    /* The bootstrap superuser is postgres, as the drill connects by default; UTF8 holds any database's text. */
    const char *args[] = {"-D", s->data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", NULL};
    int status = run_program(s, "initdb", args);
    if (status == 0)
        return PGB_OK;
    char *tail = pgb_drill_server_log_tail(s, 6);
    int rc = pgb_error_set(ctx, PGB_EIO, "initdb of the drill's scratch cluster failed (status %d): %s", status,
                           tail ? tail : "no log");
    free(tail);
    return rc;
}

int pgb_drill_server_start(pgb_ctx *ctx, const struct pgb_drill_server *s)
{
    /* -W: recovery to the target may take longer than pg_ctl would wait; wait_promoted watches it. */
    const char *args[] = {"-D", s->data, "-l", s->log, "-W", "start", NULL};
    int status = run_pg_ctl(s, args);
    if (status == 0)
        return PGB_OK;
    char *tail = pgb_drill_server_log_tail(s, 8);
    int rc = pgb_error_set(ctx, PGB_EIO, "pg_ctl start of the drill's server failed (status %d): %s", status,
                           tail ? tail : "no log");
    free(tail);
    return rc;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int pgb_drill_server_wait_promoted(pgb_ctx *ctx, const struct pgb_drill_server *s, const char *const *roles,
                                   int timeout_s, char conninfo[1024])
{
    double deadline = now_seconds() + timeout_s;
    int missing_since_start = 0;
    while (now_seconds() < deadline) {
        for (size_t i = 0; roles[i]; i++) {
            snprintf(conninfo, 1024, "host='%s' port=%d dbname=postgres user='%s' connect_timeout=10", s->socket,
                     s->port, roles[i]);
            PGconn *conn = PQconnectdb(conninfo);
            if (PQstatus(conn) == CONNECTION_OK) {
                PGresult *res = PQexec(conn, "SELECT pg_is_in_recovery()");
                int promoted = PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "f") == 0;
                PQclear(res);
                PQfinish(conn);
                if (promoted)
                    return PGB_OK;
                break; /* this role works: wait for the promotion */
            }
            PQfinish(conn);
        }
        if (!pgb_server_running(s->data, NULL) && ++missing_since_start > 20) {
            char *tail = pgb_drill_server_log_tail(s, 8);
            int rc = pgb_error_set(ctx, PGB_EIO, "the drill's server stopped before it reached the target: %s",
                                   tail ? tail : "no log");
            free(tail);
            return rc;
        }
        usleep(250 * 1000);
    }
    return pgb_error_set(ctx, PGB_EIO, "the drill's server did not reach the target and promote within %d s "
                         "(drill-timeout)", timeout_s);
}

void pgb_drill_server_stop(const struct pgb_drill_server *s)
{
    if (!pgb_server_running(s->data, NULL))
        return;
    const char *fast[] = {"-D", s->data, "-m", "fast", "-w", "-t", "60", "stop", NULL};
    if (run_pg_ctl(s, fast) != 0 && pgb_server_running(s->data, NULL)) {
        const char *immediate[] = {"-D", s->data, "-m", "immediate", "-w", "-t", "60", "stop", NULL};
        run_pg_ctl(s, immediate);
    }
}

char *pgb_drill_server_log_tail(const struct pgb_drill_server *s, int lines)
{
    FILE *f = fopen(s->log, "r");
    if (!f)
        return NULL;
    char *ring[32] = {0};
    int count = 0;
    char line[1024];
    if (lines > 32)
        lines = 32;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        free(ring[count % lines]);
        ring[count % lines] = pgb_text_dup(line);
        count++;
    }
    fclose(f);
    char *out = pgb_text_dup("");
    for (int i = count > lines ? count - lines : 0; out && i < count; i++) {
        char *grown = pgb_text_printf("%s%s%s", out, *out ? " | " : "", ring[i % lines] ? ring[i % lines] : "");
        free(out);
        out = grown;
    }
    for (int i = 0; i < lines; i++)
        free(ring[i]);
    return out;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int pgb_drill_remove_tree(const char *folder)
{
    return nftw(folder, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
