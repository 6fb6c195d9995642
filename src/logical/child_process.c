#include "logical/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/text.h"

extern char **environ;

struct pgb_child {
    pgb_ctx *ctx;
    pid_t pid;
    int reaped, status;
    int flags;
    int in_fd, out_fd, err_fd;
    char name[64];
    char err[PGB_CHILD_STDERR_MAX + 1]; /* the last bytes of stderr */
    size_t err_size;
    char *err_text;                     /* trimmed copy, made on demand */
    char *out;                          /* collected stdout */
    size_t out_size, out_capacity;
};

enum { POLL_MS = 200, PIPE_SIZE = 1 << 20 };

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* environ with each NAME of env_set replaced, and env_set's entries added. NULL when out of memory. */
static char **child_environment(const char *const *env_set)
{
    size_t count = 0, added = 0;
    while (environ && environ[count])
        count++;
    while (env_set && env_set[added])
        added++;
    char **env = calloc(count + added + 1, sizeof(*env));
    if (!env)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        int replaced = 0;
        for (size_t j = 0; j < added && !replaced; j++) {
            size_t name = strcspn(env_set[j], "=");
            replaced = strncmp(environ[i], env_set[j], name + 1) == 0;
        }
        if (!replaced)
            env[n++] = environ[i];
    }
    for (size_t j = 0; j < added; j++)
        env[n++] = (char *)env_set[j];
    env[n] = NULL;
    return env;
}

static void keep_stderr(pgb_child *c, const char *data, size_t size)
{
    if (size >= PGB_CHILD_STDERR_MAX) {
        memcpy(c->err, data + size - PGB_CHILD_STDERR_MAX, PGB_CHILD_STDERR_MAX);
        c->err_size = PGB_CHILD_STDERR_MAX;
        return;
    }
    if (c->err_size + size > PGB_CHILD_STDERR_MAX) {
        size_t drop = c->err_size + size - PGB_CHILD_STDERR_MAX;
        memmove(c->err, c->err + drop, c->err_size - drop);
        c->err_size -= drop;
    }
    memcpy(c->err + c->err_size, data, size);
    c->err_size += size;
}

static int keep_stdout(pgb_child *c, const char *data, size_t size)
{
    if (c->out_size + size + 1 > c->out_capacity) {
        size_t capacity = c->out_capacity ? c->out_capacity : 65536;
        while (capacity < c->out_size + size + 1)
            capacity *= 2;
        char *grown = realloc(c->out, capacity);
        if (!grown)
            return pgb_error_nomem(c->ctx);
        c->out = grown;
        c->out_capacity = capacity;
    }
    memcpy(c->out + c->out_size, data, size);
    c->out_size += size;
    c->out[c->out_size] = '\0';
    return PGB_OK;
}

/* Read what is ready on fd (stderr, or stdout while it is not the caller's to read). */
static int drain(pgb_child *c, int *fd, int is_stderr)
{
    char buffer[65536];
    for (;;) {
        ssize_t n = read(*fd, buffer, sizeof(buffer));
        if (n > 0) {
            if (is_stderr)
                keep_stderr(c, buffer, (size_t)n);
            else if (c->flags & PGB_CHILD_COLLECT_STDOUT) {
                int rc = keep_stdout(c, buffer, (size_t)n);
                if (rc != PGB_OK)
                    return rc;
            }
            continue;
        }
        if (n == 0)
            close_fd(fd);
        else if (errno == EINTR)
            continue;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            close_fd(fd);
        return PGB_OK;
    }
}

/*
 * Wait until want_fd is ready for want_events (or no fd is left to wait on),
 * draining stderr, and stdout unless it is want_fd. Returns 0 when want_fd
 * may be tried again.
 */
static int wait_ready(pgb_child *c, int want_fd, short want_events)
{
    for (;;) {
        struct pollfd fds[3];
        nfds_t n = 0;
        if (want_fd >= 0)
            fds[n++] = (struct pollfd){.fd = want_fd, .events = want_events};
        if (c->err_fd >= 0)
            fds[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
        if (c->out_fd >= 0 && c->out_fd != want_fd)
            fds[n++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
        if (n == 0)
            return PGB_OK;
        int ready = poll(fds, n, POLL_MS);
        if (ready < 0 && errno != EINTR)
            return pgb_error_set(c->ctx, PGB_EIO, "cannot wait for %s: %s", c->name, strerror(errno));
        int rc = pgb_check_canceled(c->ctx);
        if (rc != PGB_OK)
            return rc;
        if (ready <= 0)
            continue;
        int want_ready = 0;
        for (nfds_t i = 0; i < n; i++) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == want_fd)
                want_ready = 1;
            else if (fds[i].fd == c->err_fd)
                rc = drain(c, &c->err_fd, 1);
            else
                rc = drain(c, &c->out_fd, 0);
            if (rc != PGB_OK)
                return rc;
        }
        if (want_ready || want_fd < 0)
            return PGB_OK;
    }
}

int pgb_child_start(pgb_ctx *ctx, const char *const *argv, const char *const *env_set, int flags, pgb_child **out)
{
    *out = NULL;
    pgb_child *c = calloc(1, sizeof(*c));
    if (!c)
        return pgb_error_nomem(ctx);
    c->ctx = ctx;
    c->flags = flags;
    c->in_fd = c->out_fd = c->err_fd = -1;
    const char *base = strrchr(argv[0], '/');
    snprintf(c->name, sizeof(c->name), "%s", base ? base + 1 : argv[0]);
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, err[2] = {-1, -1};
    char **env = child_environment(env_set);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    int rc = env ? PGB_OK : pgb_error_nomem(ctx);
    if (rc == PGB_OK && (pipe2(err, O_CLOEXEC) != 0 || ((flags & PGB_CHILD_STDIN) && pipe2(in, O_CLOEXEC) != 0) ||
                         ((flags & (PGB_CHILD_STDOUT | PGB_CHILD_COLLECT_STDOUT)) && pipe2(outp, O_CLOEXEC) != 0)))
        rc = pgb_error_set(ctx, PGB_EIO, "cannot make pipes for %s: %s", c->name, strerror(errno));
    if (rc == PGB_OK) {
        if (in[0] >= 0)
            posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
        else
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (outp[1] >= 0)
            posix_spawn_file_actions_adddup2(&actions, outp[1], STDOUT_FILENO);
        else
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
        /* The child starts with default signal handling and nothing blocked, whatever this thread does. */
        sigset_t none, defaults;
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGTERM);
        posix_spawnattr_setsigmask(&attributes, &none);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        int failed = posix_spawn(&c->pid, argv[0], &actions, &attributes, (char *const *)argv, env);
        if (failed)
            rc = pgb_error_set(ctx, failed == ENOENT ? PGB_ENOTFOUND : PGB_EIO, "cannot run %s: %s", argv[0],
                               strerror(failed));
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    free(env);
    /* The child's ends belong to the child now. */
    close_fd(&in[0]);
    close_fd(&outp[1]);
    close_fd(&err[1]);
    c->in_fd = in[1];
    c->out_fd = outp[0];
    c->err_fd = err[0];
    if (rc != PGB_OK) {
        c->reaped = 1;
        pgb_child_free(c);
        return rc;
    }
    if (c->out_fd >= 0)
        fcntl(c->out_fd, F_SETPIPE_SZ, PIPE_SIZE); /* fewer wake-ups; a smaller pipe works too */
    if (c->in_fd >= 0)
        fcntl(c->in_fd, F_SETPIPE_SZ, PIPE_SIZE);
    int fds[] = {c->in_fd, c->out_fd, c->err_fd};
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    *out = c;
    return PGB_OK;
}

int pgb_child_read(pgb_child *c, void *buffer, size_t size, size_t *got)
{
    *got = 0;
    while (c->out_fd >= 0) {
        ssize_t n = read(c->out_fd, buffer, size);
        if (n > 0) {
            *got = (size_t)n;
            return PGB_OK;
        }
        if (n == 0) {
            close_fd(&c->out_fd);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return pgb_error_set(c->ctx, PGB_EIO, "cannot read the output of %s: %s", c->name, strerror(errno));
        int rc = wait_ready(c, c->out_fd, POLLIN);
        if (rc != PGB_OK)
            return rc;
    }
    return PGB_OK;
}

/*
 * Write with SIGPIPE blocked in this thread only; a SIGPIPE the write raised
 * is consumed before the old mask comes back (libpq's pq_block_sigpipe and
 * pq_reset_sigpipe do the same).
 */
static ssize_t write_without_sigpipe(int fd, const void *data, size_t size)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    int was_pending = 0;
    if (sigismember(&old, SIGPIPE) && sigpending(&pending) == 0)
        was_pending = sigismember(&pending, SIGPIPE);
    ssize_t n = write(fd, data, size);
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_only, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return n;
}

int pgb_child_write(pgb_child *c, const void *data, size_t size)
{
    const char *p = data;
    if (c->in_fd < 0)
        return pgb_error_set(c->ctx, PGB_EINVALID, "%s has no input pipe", c->name);
    while (size > 0) {
        ssize_t n = write_without_sigpipe(c->in_fd, p, size);
        if (n > 0) {
            p += n;
            size -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_ready(c, c->in_fd, POLLOUT);
            if (rc != PGB_OK)
                return rc;
            continue;
        }
        if (errno == EPIPE) {
            /* The child ended: its status and stderr say why. */
            close_fd(&c->in_fd);
            int status = 0;
            pgb_child_wait(c, &status);
            return pgb_child_fail(c, PGB_EIO, c->name, status);
        }
        return pgb_error_set(c->ctx, PGB_EIO, "cannot write to %s: %s", c->name, strerror(errno));
    }
    return PGB_OK;
}

int pgb_child_watch(pgb_child *c, int fd, int timeout_ms, int *ready, int *ended)
{
    *ready = *ended = 0;
    struct pollfd fds[2];
    nfds_t n = 0;
    if (fd >= 0)
        fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    if (c->err_fd >= 0)
        fds[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
    int count = poll(fds, n, timeout_ms);
    if (count < 0 && errno != EINTR)
        return pgb_error_set(c->ctx, PGB_EIO, "cannot wait for %s: %s", c->name, strerror(errno));
    int rc = pgb_check_canceled(c->ctx);
    for (nfds_t i = 0; rc == PGB_OK && count > 0 && i < n; i++) {
        if (!fds[i].revents)
            continue;
        if (fds[i].fd == fd)
            *ready = 1;
        else
            rc = drain(c, &c->err_fd, 1);
    }
    if (rc == PGB_OK && !c->reaped) {
        int raw = 0;
        if (waitpid(c->pid, &raw, WNOHANG) == c->pid) {
            c->reaped = 1;
            c->status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        }
    }
    *ended = c->reaped;
    return rc;
}

int pgb_child_wait(pgb_child *c, int *status)
{
    close_fd(&c->in_fd);
    int rc = PGB_OK;
    while (rc == PGB_OK && (c->out_fd >= 0 || c->err_fd >= 0))
        rc = wait_ready(c, -1, 0);
    while (!c->reaped) {
        int raw = 0;
        pid_t done = waitpid(c->pid, &raw, 0);
        if (done < 0 && errno == EINTR)
            continue;
        c->reaped = 1;
        c->status = done < 0 ? 127 : WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    }
    *status = c->status;
    return rc;
}

const char *pgb_child_stderr(const pgb_child *c)
{
    pgb_child *m = (pgb_child *)c;
    free(m->err_text);
    m->err[m->err_size] = '\0';
    m->err_text = pgb_text_dup(m->err);
    return m->err_text ? pgb_text_trim(m->err_text) : "";
}

const char *pgb_child_stdout(const pgb_child *c, size_t *size)
{
    if (size)
        *size = c->out_size;
    return c->out ? c->out : "";
}

int pgb_child_fail(pgb_child *c, int code, const char *what, int status)
{
    const char *err = pgb_child_stderr(c);
    if (status > 128)
        return pgb_error_set(c->ctx, code, "%s was killed by signal %d%s%s", what, status - 128, *err ? ": " : "",
                             err);
    return pgb_error_set(c->ctx, code, "%s failed (exit status %d)%s%s", what, status, *err ? ": " : "", err);
}

void pgb_child_free(pgb_child *c)
{
    if (!c)
        return;
    close_fd(&c->in_fd);
    close_fd(&c->out_fd);
    close_fd(&c->err_fd);
    if (!c->reaped && c->pid > 0) {
        kill(c->pid, SIGTERM);
        int raw;
        for (int i = 0; i < 50 && waitpid(c->pid, &raw, WNOHANG) == 0; i++) {
            struct timespec pause = {0, 100 * 1000 * 1000};
            nanosleep(&pause, NULL);
            if (i == 49) {
                kill(c->pid, SIGKILL);
                while (waitpid(c->pid, &raw, 0) < 0 && errno == EINTR)
                    ;
            }
        }
    }
    free(c->err_text);
    free(c->out);
    free(c);
}

int pgb_child_run(pgb_ctx *ctx, const char *const *argv, const char *const *env_set, const void *input,
                  size_t input_size, char **output, size_t *output_size)
{
    if (output)
        *output = NULL;
    pgb_child *c = NULL;
    int flags = PGB_CHILD_COLLECT_STDOUT | (input ? PGB_CHILD_STDIN : 0);
    int rc = pgb_child_start(ctx, argv, env_set, flags, &c);
    if (rc == PGB_OK && input)
        rc = pgb_child_write(c, input, input_size);
    int status = 0;
    if (rc == PGB_OK)
        rc = pgb_child_wait(c, &status);
    if (rc == PGB_OK && status != 0)
        rc = pgb_child_fail(c, PGB_ERROR, c->name, status);
    if (rc == PGB_OK && output) {
        *output = c->out ? c->out : pgb_text_dup("");
        if (output_size)
            *output_size = c->out_size;
        c->out = NULL;
        if (!*output)
            rc = pgb_error_nomem(ctx);
    }
    pgb_child_free(c);
    return rc;
}
