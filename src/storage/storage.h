/*
 * The storage layer inside the library: the handle behind pgb_storage and the
 * constructors of the built-in backends.
 */
#ifndef PGB_STORAGE_STORAGE_H
#define PGB_STORAGE_STORAGE_H

#include <stdint.h>

#include <pgbackup/storage.h>

struct pgb_storage {
    uint32_t magic;
    pgb_ctx *ctx;
    pgb_storage_ops ops; /* a copy: the caller's table need not outlive the call */
    void *payload;
    char *name;          /* URL or callback name, for messages */
    int from_url;        /* made by pgb_storage_open: pgb_storage_open(name) reaches the same objects */
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

#endif
