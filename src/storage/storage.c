/*
 * The front of the storage layer: handle checks, key checks, and errors named
 * after the key whatever the backend, so that every backend behaves alike.
 */
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/read_all.h"
#include "core/text.h"

struct pgb_storage_reader {
    uint32_t magic;
    pgb_storage *storage;
    void *stream;
    char *key;
};

struct pgb_storage_writer {
    uint32_t magic;
    pgb_storage *storage;
    void *stream;
    char *key;
};

static int is_storage(const pgb_storage *s)
{
    return s && s->magic == PGB_MAGIC_STORAGE && pgb_ctx_is_valid(s->ctx);
}

int pgb_storage_check_key(pgb_ctx *ctx, const char *key)
{
    if (!key || !key[0])
        return pgb_error_set(ctx, PGB_EINVALID, "object key is empty");
    if (strlen(key) > 1024)
        return pgb_error_set(ctx, PGB_EINVALID, "object key is longer than 1024 bytes: %.40s...", key);
    for (const char *part = key;;) {
        const char *slash = strchr(part, '/');
        size_t len = slash ? (size_t)(slash - part) : strlen(part);
        if (len == 0)
            return pgb_error_set(ctx, PGB_EINVALID, "object key '%s' has an empty part", key);
        if (part[0] == '.')
            return pgb_error_set(ctx, PGB_EINVALID, "object key '%s' has a part starting with '.'", key);
        if (!slash)
            break;
        part = slash + 1;
    }
    for (const char *c = key; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '\\')
            return pgb_error_set(ctx, PGB_EINVALID, "object key '%s' has a control character or '\\'", key);
    return PGB_OK;
}

/* A callback that failed without saying why still gets a message naming the key. */
static int callback_failed(pgb_storage *s, int rc, const char *operation, const char *key)
{
    if (rc >= 0)
        rc = PGB_ERROR;
    if (pgb_ctx_errcode(s->ctx) == PGB_OK)
        return pgb_error_set(s->ctx, rc, "storage %s: %s of %s failed (%s)", s->name, operation,
                             key ? key : "(all)", pgb_status_name(rc));
    return rc;
}

int pgb_ctx_set_error(pgb_ctx *ctx, int code, const char *message)
{
    if (!pgb_ctx_is_valid(ctx))
        return code;
    return pgb_error_set(ctx, code < 0 ? code : PGB_ERROR, "%s", message ? message : "unknown error");
}

static int make_storage(pgb_storage **out, pgb_ctx *ctx, const pgb_storage_ops *ops, void *payload,
                        const char *name)
{
    pgb_storage *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    s->name = pgb_text_dup(name);
    if (!s->name) {
        free(s);
        return pgb_error_nomem(ctx);
    }
    s->magic = PGB_MAGIC_STORAGE;
    s->ctx = ctx;
    s->ops = *ops;
    s->payload = payload;
    *out = s;
    return PGB_OK;
}

/* Which built-in backend serves url; fills backend. */
static int open_backend(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct pgb_storage_backend *backend)
{
    *backend = (struct pgb_storage_backend){0};
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end)
        return pgb_posix_backend_new(ctx, url, &backend->ops, &backend->payload);
    if (strncmp(url, "file://", 7) == 0) {
        if (url[7] != '/')
            return pgb_error_set(ctx, PGB_EINVALID, "storage URL %s: a file:// URL needs an absolute path "
                                 "(file:///srv/backup)", url);
        return pgb_posix_backend_new(ctx, url + 7, &backend->ops, &backend->payload);
    }
    if (strncmp(url, "s3://", 5) == 0)
        return pgb_s3_backend_new(ctx, url, opts, backend);
    if (strncmp(url, "sftp://", 7) == 0)
        return pgb_sftp_backend_new(ctx, url, opts, backend);
    return pgb_error_set(ctx, PGB_EUNSUPPORTED, "storage URL %s: scheme '%.*s' is not supported by this build "
                         "(file://, s3://, sftp:// and plain paths are)", url, (int)(scheme_end - url), url);
}

static int adopt_backend(pgb_storage **out, pgb_ctx *ctx, struct pgb_storage_backend *backend, const char *name)
{
    int rc = make_storage(out, ctx, &backend->ops, backend->payload, name);
    if (rc != PGB_OK) {
        backend->ops.free(backend->payload);
        return rc;
    }
    (*out)->from_url = 1;
    (*out)->reopen = backend->reopen;
    (*out)->remove_many = backend->remove_many;
    return PGB_OK;
}

int pgb_storage_open(pgb_storage **out, pgb_ctx *ctx, const char *url, const pgb_options *opts)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    if (!out || !url)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_storage_open: out and url are required");
    *out = NULL;
    struct pgb_storage_backend backend;
    int rc = open_backend(ctx, url, opts, &backend);
    if (rc != PGB_OK)
        return rc;
    return adopt_backend(out, ctx, &backend, url);
}

int pgb_storage_reopen(pgb_storage **out, pgb_ctx *ctx, const pgb_storage *s)
{
    *out = NULL;
    if (!is_storage(s) || !s->from_url)
        return pgb_error_set(ctx, PGB_EINVALID, "storage %s cannot be reopened (callbacks serve one handle)",
                             s ? s->name : "(none)");
    if (!s->reopen)
        return pgb_storage_open(out, ctx, s->name, NULL);
    pgb_error_clear(ctx);
    struct pgb_storage_backend backend = {0};
    int rc = s->reopen(s->payload, ctx, &backend);
    if (rc != PGB_OK)
        return rc;
    return adopt_backend(out, ctx, &backend, s->name);
}

int pgb_storage_from_callbacks(pgb_storage **out, pgb_ctx *ctx, const pgb_storage_ops *ops, void *payload,
                               const char *name)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    if (!out || !ops)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_storage_from_callbacks: out and ops are required");
    *out = NULL;
    if (ops->version < 1 || ops->version > PGB_STORAGE_OPS_VERSION)
        return pgb_error_set(ctx, PGB_EINVALID, "storage callbacks: version %d is not known (this library "
                             "knows 1 to %d)", ops->version, PGB_STORAGE_OPS_VERSION);
    if (!ops->open_read || !ops->read || !ops->close_read || !ops->open_write || !ops->write ||
        !ops->commit || !ops->abort || !ops->list || !ops->stat || !ops->remove)
        return pgb_error_set(ctx, PGB_EINVALID, "storage callbacks: every function but free is required");
    return make_storage(out, ctx, ops, payload, name && *name ? name : "callbacks");
}

void pgb_storage_free(pgb_storage *s)
{
    if (!is_storage(s))
        return;
    if (s->ops.free)
        s->ops.free(s->payload);
    free(s->name);
    s->magic = PGB_MAGIC_FREED;
    free(s);
}

int pgb_storage_reopenable(const pgb_storage *s)
{
    return is_storage(s) && s->from_url;
}

const char *pgb_storage_name(const pgb_storage *s)
{
    return is_storage(s) ? s->name : NULL;
}

/* Common entry: live storage, clear error, valid key. */
static int enter(pgb_storage *s, const char *key)
{
    if (!is_storage(s))
        return PGB_EINVALID;
    pgb_error_clear(s->ctx);
    return pgb_storage_check_key(s->ctx, key);
}

int pgb_storage_reader_open(pgb_storage_reader **out, pgb_storage *s, const char *key, uint64_t offset,
                            uint64_t length)
{
    int rc = enter(s, key);
    if (rc != PGB_OK)
        return rc;
    if (!out)
        return pgb_error_set(s->ctx, PGB_EINVALID, "pgb_storage_reader_open: out is NULL");
    *out = NULL;
    pgb_storage_reader *r = calloc(1, sizeof(*r));
    if (!r || !(r->key = pgb_text_dup(key))) {
        free(r);
        return pgb_error_nomem(s->ctx);
    }
    rc = s->ops.open_read(s->payload, key, offset, length, &r->stream);
    if (rc != PGB_OK) {
        free(r->key);
        free(r);
        if (rc == PGB_ENOTFOUND)
            return pgb_error_set(s->ctx, PGB_ENOTFOUND, "object %s not found in %s", key, s->name);
        return callback_failed(s, rc, "open for reading", key);
    }
    r->magic = PGB_MAGIC_STORAGE_READER;
    r->storage = s;
    *out = r;
    return PGB_OK;
}

int pgb_storage_reader_read(pgb_storage_reader *r, void *buffer, size_t size, size_t *got)
{
    if (!r || r->magic != PGB_MAGIC_STORAGE_READER || !got)
        return PGB_EINVALID;
    pgb_storage *s = r->storage;
    pgb_error_clear(s->ctx);
    *got = 0;
    int rc = s->ops.read(s->payload, r->stream, buffer, size, got);
    return rc == PGB_OK ? PGB_OK : callback_failed(s, rc, "read", r->key);
}

void pgb_storage_reader_close(pgb_storage_reader *r)
{
    if (!r || r->magic != PGB_MAGIC_STORAGE_READER)
        return;
    r->storage->ops.close_read(r->storage->payload, r->stream);
    free(r->key);
    r->magic = PGB_MAGIC_FREED;
    free(r);
}

int pgb_storage_writer_open(pgb_storage_writer **out, pgb_storage *s, const char *key, int flags)
{
    int rc = enter(s, key);
    if (rc != PGB_OK)
        return rc;
    if (!out)
        return pgb_error_set(s->ctx, PGB_EINVALID, "pgb_storage_writer_open: out is NULL");
    *out = NULL;
    if (flags & ~PGB_STORAGE_NO_OVERWRITE)
        return pgb_error_set(s->ctx, PGB_EINVALID, "unknown storage flags 0x%x for %s", (unsigned)flags, key);
    pgb_storage_writer *w = calloc(1, sizeof(*w));
    if (!w || !(w->key = pgb_text_dup(key))) {
        free(w);
        return pgb_error_nomem(s->ctx);
    }
    rc = s->ops.open_write(s->payload, key, flags, &w->stream);
    if (rc != PGB_OK) {
        free(w->key);
        free(w);
        return callback_failed(s, rc, "open for writing", key);
    }
    w->magic = PGB_MAGIC_STORAGE_WRITER;
    w->storage = s;
    *out = w;
    return PGB_OK;
}

int pgb_storage_writer_write(pgb_storage_writer *w, const void *data, size_t size)
{
    if (!w || w->magic != PGB_MAGIC_STORAGE_WRITER || (!data && size))
        return PGB_EINVALID;
    pgb_storage *s = w->storage;
    pgb_error_clear(s->ctx);
    if (size == 0)
        return PGB_OK;
    int rc = s->ops.write(s->payload, w->stream, data, size);
    return rc == PGB_OK ? PGB_OK : callback_failed(s, rc, "write", w->key);
}

static void free_writer(pgb_storage_writer *w)
{
    free(w->key);
    w->magic = PGB_MAGIC_FREED;
    free(w);
}

int pgb_storage_writer_commit(pgb_storage_writer *w)
{
    if (!w || w->magic != PGB_MAGIC_STORAGE_WRITER)
        return PGB_EINVALID;
    pgb_storage *s = w->storage;
    pgb_error_clear(s->ctx);
    int rc = s->ops.commit(s->payload, w->stream);
    if (rc == PGB_EEXISTS && pgb_ctx_errcode(s->ctx) == PGB_OK)
        pgb_error_set(s->ctx, PGB_EEXISTS, "object %s exists already in %s", w->key, s->name);
    else if (rc != PGB_OK)
        rc = callback_failed(s, rc, "commit", w->key);
    free_writer(w);
    return rc;
}

void pgb_storage_writer_abort(pgb_storage_writer *w)
{
    if (!w || w->magic != PGB_MAGIC_STORAGE_WRITER)
        return;
    w->storage->ops.abort(w->storage->payload, w->stream);
    free_writer(w);
}

int pgb_storage_put(pgb_storage *s, const char *key, const void *data, size_t size, int flags)
{
    pgb_storage_writer *w;
    int rc = pgb_storage_writer_open(&w, s, key, flags);
    if (rc != PGB_OK)
        return rc;
    rc = pgb_storage_writer_write(w, data, size);
    if (rc != PGB_OK) {
        pgb_storage_writer_abort(w);
        return rc;
    }
    return pgb_storage_writer_commit(w);
}

static int read_from_reader(void *reader, void *buffer, size_t size, size_t *got)
{
    return pgb_storage_reader_read(reader, buffer, size, got);
}

int pgb_storage_get(pgb_storage *s, const char *key, void **data, size_t *size)
{
    if (!data || !size)
        return is_storage(s) ? pgb_error_set(s->ctx, PGB_EINVALID, "pgb_storage_get: data and size are required")
                             : PGB_EINVALID;
    *data = NULL;
    *size = 0;
    pgb_storage_reader *r;
    int rc = pgb_storage_reader_open(&r, s, key, 0, 0);
    if (rc != PGB_OK)
        return rc;
    rc = pgb_read_all(s->ctx, read_from_reader, r, data, size);
    pgb_storage_reader_close(r);
    return rc;
}

int pgb_storage_stat(pgb_storage *s, const char *key, uint64_t *size)
{
    int rc = enter(s, key);
    if (rc != PGB_OK)
        return rc;
    uint64_t ignored;
    rc = s->ops.stat(s->payload, key, size ? size : &ignored);
    if (rc == PGB_ENOTFOUND)
        return pgb_error_set(s->ctx, PGB_ENOTFOUND, "object %s not found in %s", key, s->name);
    return rc == PGB_OK ? PGB_OK : callback_failed(s, rc, "stat", key);
}

int pgb_storage_remove(pgb_storage *s, const char *key)
{
    int rc = enter(s, key);
    if (rc != PGB_OK)
        return rc;
    rc = s->ops.remove(s->payload, key);
    return rc == PGB_OK ? PGB_OK : callback_failed(s, rc, "remove", key);
}

int pgb_storage_remove_many(pgb_storage *s, const char *const *keys, size_t count)
{
    if (!is_storage(s))
        return PGB_EINVALID;
    pgb_error_clear(s->ctx);
    for (size_t i = 0; i < count; i++) {
        int rc = pgb_storage_check_key(s->ctx, keys[i]);
        if (rc != PGB_OK)
            return rc;
    }
    if (!s->remove_many) {
        for (size_t i = 0; i < count; i++) {
            int rc = pgb_storage_remove(s, keys[i]);
            if (rc != PGB_OK)
                return rc;
        }
        return PGB_OK;
    }
    int rc = s->remove_many(s->payload, keys, count);
    return rc == PGB_OK ? PGB_OK : callback_failed(s, rc, "remove", count ? keys[0] : NULL);
}

int pgb_storage_list(pgb_storage *s, const char *prefix, pgb_storage_list_fn each, void *payload)
{
    if (!is_storage(s))
        return PGB_EINVALID;
    pgb_error_clear(s->ctx);
    int rc;
    if (!prefix || !each)
        return pgb_error_set(s->ctx, PGB_EINVALID, "pgb_storage_list: prefix and each are required");
    rc = s->ops.list(s->payload, prefix, each, payload);
    return rc == PGB_OK ? PGB_OK : callback_failed(s, rc, "list", prefix[0] ? prefix : NULL);
}
