/*
 * Running PostgreSQL's client programs (pg_dump, pg_restore, pg_dumpall,
 * pg_config) as child processes with pipes: their stdout read as a stream,
 * their stdin written as a stream, their stderr always kept (the last
 * PGB_CHILD_STDERR_MAX bytes) for the error message. Secrets reach a child
 * only through its environment (env_set), never its argument list.
 *
 * A library must not change the process's signal dispositions: writes to a
 * child that died block SIGPIPE in the calling thread only and consume the
 * signal they raised, as libpq does.
 */
#ifndef PGB_LOGICAL_CHILD_PROCESS_H
#define PGB_LOGICAL_CHILD_PROCESS_H

#include <stddef.h>

#include <pgbackup/common.h>

enum { PGB_CHILD_STDERR_MAX = 16384 };

enum pgb_child_flags {
    PGB_CHILD_STDIN = 1,          /* stdin is a pipe written with pgb_child_write; else /dev/null */
    PGB_CHILD_STDOUT = 2,         /* stdout is a pipe read with pgb_child_read */
    PGB_CHILD_COLLECT_STDOUT = 4  /* stdout is a pipe collected whole (pgb_child_stdout) */
};

typedef struct pgb_child pgb_child;

/*
 * Start argv[0] (a full path) with argv. env_set: NULL-terminated
 * "NAME=value" strings that replace or add to this process's environment for
 * the child (may be NULL). Errors (the program cannot run) go to ctx.
 */
int pgb_child_start(pgb_ctx *ctx, const char *const *argv, const char *const *env_set, int flags, pgb_child **out);

/*
 * Read up to size bytes of the child's stdout; *got is 0 at its end. stderr is
 * drained meanwhile; the context's cancel flag is looked at while waiting.
 */
int pgb_child_read(pgb_child *c, void *buffer, size_t size, size_t *got);

/*
 * Write every byte to the child's stdin, draining its stdout and stderr
 * meanwhile. A child that ended before reading everything is PGB_EIO with its
 * stderr in the message.
 */
int pgb_child_write(pgb_child *c, const void *data, size_t size);

/*
 * Close stdin, read what is left of stdout and stderr, and wait for the
 * child. *status is its exit status (128 + signal when killed). A status
 * other than 0 is not an error here: the caller words the message
 * (pgb_child_fail helps).
 */
int pgb_child_wait(pgb_child *c, int *status);

/*
 * Wait up to timeout_ms for fd (-1 for none) to be readable or for the child
 * to end, draining its stderr meanwhile. *ready: fd is readable; *ended: the
 * child ended (pgb_child_wait then gives its status at once). For children
 * whose output is files, such as pg_dump -Fd.
 */
int pgb_child_watch(pgb_child *c, int fd, int timeout_ms, int *ready, int *ended);

/* What the child wrote to stderr (its last PGB_CHILD_STDERR_MAX bytes), trimmed; owned by c. */
const char *pgb_child_stderr(const pgb_child *c);

/* Collected stdout (PGB_CHILD_COLLECT_STDOUT), NUL-terminated; owned by c. */
const char *pgb_child_stdout(const pgb_child *c, size_t *size);

/* Record "<what> failed (exit status N): <stderr>" in ctx as code; returns code. */
int pgb_child_fail(pgb_child *c, int code, const char *what, int status);

/* Stop the child if it still runs (SIGTERM, then SIGKILL), reap it and free c. NULL is allowed. */
void pgb_child_free(pgb_child *c);

/*
 * Run a program to its end: input (may be NULL) goes to its stdin, its stdout
 * is collected into *output (NUL-terminated, free with free(); output may be
 * NULL to discard it). A non-zero exit status fails with PGB_ERROR naming the
 * program and quoting its stderr.
 */
int pgb_child_run(pgb_ctx *ctx, const char *const *argv, const char *const *env_set, const void *input,
                  size_t input_size, char **output, size_t *output_size);

#endif
