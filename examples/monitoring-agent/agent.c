/*
 * pgbackup-agent: a small monitoring agent that embeds libpgbackup.
 *
 *   pgbackup-agent --config FILE [--port N] [--pg CONNINFO] [--probe 'SQL [=> EXPECTED]' ...]
 *
 * Serves the cluster's status as Prometheus metrics on http://127.0.0.1:N/metrics
 * (default port 9187; loopback only: put a proxy in front to expose it), and
 * runs restore drills on the cadence of the cluster's policy (drill-every),
 * with the probes given. The repository, keys and drill settings (drill-user,
 * scratch-dir) come from the config file, as for the pgbackup CLI. Stops
 * cleanly on SIGINT or SIGTERM, after a drill in progress has cleaned up.
 *
 * Each thread has its own context, storage and repository handles: the
 * library's handles belong to one thread at a time.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include <pgbackup/pgbackup.h>

static volatile sig_atomic_t stopping;

struct agent {
    const char *config;
    const char *pg;
    const char **probes;
    int probe_count;
    int port;
};

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* A context, storage and repository from the config file; 0 or a PGB_E* code (message printed). */
static int open_repo(const struct agent *a, pgb_ctx **ctx, pgb_options **opts, pgb_storage **storage, pgb_repo **repo)
{
    *storage = NULL;
    *repo = NULL;
    *opts = NULL;
    const char *url = NULL;
    int rc = pgb_ctx_new(ctx);
    if (rc == PGB_OK)
        rc = pgb_options_new(opts, *ctx);
    if (rc == PGB_OK)
        rc = pgb_options_load_file(*opts, a->config);
    if (rc == PGB_OK && a->pg)
        rc = pgb_options_set(*opts, "pg", a->pg);
    for (int i = 0; rc == PGB_OK && i < a->probe_count; i++)
        rc = pgb_options_set(*opts, "probe", a->probes[i]);
    if (rc == PGB_OK)
        rc = pgb_options_get(*opts, "repo", &url);
    if (rc == PGB_OK && !url)
        rc = PGB_EINVALID;
    if (rc == PGB_OK)
        rc = pgb_storage_open(storage, *ctx, url, *opts);
    if (rc == PGB_OK)
        rc = pgb_repo_open(repo, *storage, *opts);
    if (rc != PGB_OK)
        fprintf(stderr, "pgbackup-agent: %s\n", *ctx ? pgb_ctx_errmsg(*ctx) : "out of memory");
    return rc;
}

static void close_repo(pgb_ctx *ctx, pgb_options *opts, pgb_storage *storage, pgb_repo *repo)
{
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_options_free(opts);
    pgb_ctx_free(ctx);
}

/* Seconds to wait before the next drill is due: 0 now, -1 when the policy sets no cadence. */
static long drill_due_in(const struct agent *a)
{
    pgb_ctx *ctx;
    pgb_options *opts;
    pgb_storage *storage;
    pgb_repo *repo;
    long due = -1;
    if (open_repo(a, &ctx, &opts, &storage, &repo) == PGB_OK) {
        pgb_policy *policy = NULL;
        pgb_cluster_status *status = NULL;
        int64_t every = pgb_policy_load(&policy, repo) == PGB_OK ? pgb_policy_get(policy, "drill-every") : -1;
        if (every >= 0 && pgb_cluster_status_new(&status, repo, NULL) == PGB_OK) {
            json_t *doc = json_loads(pgb_cluster_status_render(status, "json"), 0, NULL);
            json_t *age = json_object_get(json_object_get(json_object_get(doc, "drills"), "last"), "age_seconds");
            due = json_is_integer(age) && json_integer_value(age) < every ? (long)(every - json_integer_value(age)) : 0;
            json_decref(doc);
        }
        pgb_cluster_status_free(status);
        pgb_policy_free(policy);
    }
    close_repo(ctx, opts, storage, repo);
    return due;
}

static void run_drill(const struct agent *a)
{
    pgb_ctx *ctx;
    pgb_options *opts;
    pgb_storage *storage;
    pgb_repo *repo;
    if (open_repo(a, &ctx, &opts, &storage, &repo) == PGB_OK) {
        pgb_drill *drill = NULL;
        int rc = pgb_drill_new(&drill, repo, opts);
        if (rc == PGB_OK)
            rc = pgb_drill_run(drill);
        if (rc == PGB_OK)
            fprintf(stderr, "pgbackup-agent: drill %s, RTO %.1f s\n", pgb_drill_passed(drill) ? "passed" : "FAILED",
                    pgb_drill_rto_seconds(drill));
        else
            fprintf(stderr, "pgbackup-agent: drill not run: %s\n", pgb_ctx_errmsg(ctx));
        pgb_drill_free(drill);
    }
    close_repo(ctx, opts, storage, repo);
}

static void *drill_scheduler(void *payload)
{
    const struct agent *a = payload;
    while (!stopping) {
        long due = drill_due_in(a);
        if (due == 0) {
            run_drill(a);
            continue;
        }
        /* Check again in a while (the policy may change); wake up every second to notice stopping. */
        for (long waited = 0; !stopping && waited < (due > 0 && due < 60 ? due : 60); waited++)
            sleep(1);
    }
    return NULL;
}

static void respond(int fd, const char *status, const char *type, const char *body)
{
    char header[256];
    int n = snprintf(header, sizeof(header),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     type, strlen(body));
    if (write(fd, header, (size_t)n) == n)
        (void)!write(fd, body, strlen(body));
}

static void serve(const struct agent *a, int fd)
{
    char request[1024] = "";
    ssize_t got = read(fd, request, sizeof(request) - 1);
    if (got <= 0)
        return;
    request[got] = '\0';
    if (strncmp(request, "GET /metrics ", 13) != 0) {
        respond(fd, strncmp(request, "GET / ", 6) == 0 ? "200 OK" : "404 Not Found", "text/plain",
                "pgbackup-agent: metrics at /metrics\n");
        return;
    }
    pgb_ctx *ctx;
    pgb_options *opts;
    pgb_storage *storage;
    pgb_repo *repo;
    pgb_cluster_status *status = NULL;
    if (open_repo(a, &ctx, &opts, &storage, &repo) == PGB_OK && pgb_cluster_status_new(&status, repo, opts) == PGB_OK)
        respond(fd, "200 OK", "text/plain; version=0.0.4", pgb_cluster_status_render(status, "prometheus"));
    else
        respond(fd, "503 Service Unavailable", "text/plain", "# the repository cannot be read\n");
    pgb_cluster_status_free(status);
    close_repo(ctx, opts, storage, repo);
}

static int listen_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(fd, 16) != 0) {
        fprintf(stderr, "pgbackup-agent: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct agent a = {NULL, NULL, calloc((size_t)argc, sizeof(char *)), 0, 9187};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--config") == 0)
            a.config = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            a.port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--pg") == 0)
            a.pg = argv[i + 1];
        else if (strcmp(argv[i], "--probe") == 0)
            a.probes[a.probe_count++] = argv[i + 1];
        else
            a.config = NULL, i = argc; /* unknown: usage */
    }
    if (!a.config || a.port <= 0 || a.port > 65535 || argc % 2 == 0) {
        fprintf(stderr, "usage: pgbackup-agent --config FILE [--port N] [--pg CONNINFO] [--probe 'SQL [=> EXPECTED]' "
                        "...]\n");
        free(a.probes);
        return 2;
    }
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = listen_loopback(a.port);
    if (fd < 0) {
        free(a.probes);
        return 1;
    }
    fprintf(stderr, "pgbackup-agent: metrics on http://127.0.0.1:%d/metrics\n", a.port);
    pthread_t scheduler;
    int scheduling = pthread_create(&scheduler, NULL, drill_scheduler, &a) == 0;
    while (!stopping) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500) <= 0)
            continue;
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (client >= 0) {
            serve(&a, client);
            close(client);
        }
    }
    close(fd);
    if (scheduling)
        pthread_join(scheduler, NULL);
    free(a.probes);
    fprintf(stderr, "pgbackup-agent: stopped\n");
    return 0;
}
