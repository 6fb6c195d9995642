/*
 * The storage layer inside the library: the handle behind pgb_storage and the
 * constructors of the built-in backends.
 */
#ifndef PGB_STORAGE_STORAGE_H
#define PGB_STORAGE_STORAGE_H

#include <stdint.h>

#include <pgbackup/storage.h>

/* What a built-in backend's constructor gives: its table, payload and optional extras. */
struct pgb_storage_backend {
    pgb_storage_ops ops;
    void *payload;
    /* Another payload on the same objects, for another thread's handle (own connection). */
    int (*reopen)(void *payload, pgb_ctx *ctx, struct pgb_storage_backend *out);
    /* Remove many keys in few requests; keys are checked already. */
    int (*remove_many)(void *payload, const char *const *keys, size_t count);
};

struct pgb_storage {
    uint32_t magic;
    pgb_ctx *ctx;
    pgb_storage_ops ops; /* a copy: the caller's table need not outlive the call */
    void *payload;
    char *name;          /* URL or callback name, for messages */
    int from_url;        /* made by pgb_storage_open: pgb_storage_open(name) reaches the same objects */
    /* Built-in remote backends only (NULL otherwise): */
    int (*reopen)(void *payload, pgb_ctx *ctx, struct pgb_storage_backend *out);
    int (*remove_many)(void *payload, const char *const *keys, size_t count);
};

/*
 * Whether another handle on the same objects can be made with
 * pgb_storage_open(pgb_storage_name(s)): true for storages opened from a URL,
 * false for callbacks, whose payload belongs to one handle.
 */
int pgb_storage_reopenable(const pgb_storage *s);

/* Whether key is a valid object key; else records PGB_EINVALID saying why. */
int pgb_storage_check_key(pgb_ctx *ctx, const char *key);

/* The posix backend rooted at folder root: fills ops and payload. */
int pgb_posix_backend_new(pgb_ctx *ctx, const char *root, pgb_storage_ops *ops, void **payload);

/*
 * Another handle on the same objects as s, with its own context and
 * connection, for a worker thread: the built-in backend's reopen, else
 * pgb_storage_open(pgb_storage_name(s)). Free it with pgb_storage_free().
 */
int pgb_storage_reopen(pgb_storage **out, pgb_ctx *ctx, const pgb_storage *s);

/* Remove count keys (absent ones are fine), in batches where the backend can; 0 or a PGB_E* code. */
int pgb_storage_remove_many(pgb_storage *s, const char *const *keys, size_t count);

/* The S3 backend for s3://bucket[/prefix] (s3.c). */
int pgb_s3_backend_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct pgb_storage_backend *out);

/* The SFTP backend for sftp://user@host[:port]/path (sftp.c). */
int pgb_sftp_backend_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct pgb_storage_backend *out);

#endif
