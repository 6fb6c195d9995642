/*
 * The SFTP backend: objects are files under a folder on another host, over
 * SSH (libssh2). A write goes to a hidden temp file beside its target;
 * commit fsyncs it where the server has the fsync@openssh.com extension,
 * then renames it into place. OpenSSH's SFTP rename never replaces an
 * existing file (it links, then unlinks), which is exactly what
 * PGB_STORAGE_NO_OVERWRITE needs; a commit that may replace first moves the
 * old object aside, so the key is briefly absent (SFTP version 3 has no
 * atomic replace). Folders are 0700 and files 0600, as on posix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/text.h"
#include "storage/sftp_session.h"
#include "storage/storage.h"

struct sftp_backend {
    struct sftp_connection connection;
};

struct sftp_reader {
    LIBSSH2_SFTP_HANDLE *handle;
    char *path;
    uint64_t position, end;
};

struct sftp_writer {
    LIBSSH2_SFTP_HANDLE *handle;
    int flags;
    char *path, *tmp_path;
};

static char *full_path(struct sftp_backend *b, const char *key)
{
    return pgb_text_printf("%s/%s", b->connection.config->root, key);
}

static void random_suffix(char out[13])
{
    uint8_t random[6];
    RAND_bytes(random, sizeof(random));
    pgb_hex_encode(random, sizeof(random), out);
}

/* The hidden name beside path: "<folder>/.<name>.<what>.<random>". */
static char *hidden_beside(const char *path, const char *what)
{
    char suffix[13];
    random_suffix(suffix);
    const char *slash = strrchr(path, '/');
    if (!slash)
        return pgb_text_printf(".%s.%s.%s", path, what, suffix);
    return pgb_text_printf("%.*s/.%s.%s.%s", (int)(slash - path), path, slash + 1, what, suffix);
}

static int enter(struct sftp_backend *b)
{
    return sftp_ensure_own(&b->connection);
}

static int sftp_open_read(void *payload, const char *key, uint64_t offset, uint64_t length, void **stream)
{
    struct sftp_backend *b = payload;
    int rc = enter(b);
    if (rc != PGB_OK)
        return rc;
    char *path = full_path(b, key);
    if (!path)
        return pgb_error_nomem(b->connection.ctx);
    LIBSSH2_SFTP_HANDLE *handle = libssh2_sftp_open_ex(b->connection.sftp, path, (unsigned)strlen(path),
                                                       LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (!handle) {
        rc = sftp_fail(&b->connection, "open", path);
        free(path);
        return rc;
    }
    struct sftp_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        libssh2_sftp_close_handle(handle);
        free(path);
        return pgb_error_nomem(b->connection.ctx);
    }
    libssh2_sftp_seek64(handle, offset);
    *r = (struct sftp_reader){handle, path, offset, length ? offset + length : UINT64_MAX};
    *stream = r;
    return PGB_OK;
}

static int sftp_read(void *payload, void *stream, void *buffer, size_t size, size_t *got)
{
    struct sftp_backend *b = payload;
    struct sftp_reader *r = stream;
    *got = 0;
    if (r->position >= r->end)
        return PGB_OK;
    if ((uint64_t)size > r->end - r->position)
        size = (size_t)(r->end - r->position);
    ssize_t n = libssh2_sftp_read(r->handle, buffer, size);
    if (n < 0)
        return sftp_fail(&b->connection, "read", r->path);
    r->position += (uint64_t)n;
    *got = (size_t)n;
    return PGB_OK;
}

static void sftp_close_read(void *payload, void *stream)
{
    struct sftp_backend *b = payload;
    struct sftp_reader *r = stream;
    if (b->connection.pid == getpid())
        libssh2_sftp_close_handle(r->handle);
    free(r->path);
    free(r);
}

/* Make every missing folder of path's parent, 0700; object names the write in messages. */
static int make_parents(struct sftp_backend *b, const char *path, const char *object)
{
    char *folder = pgb_text_dup(path);
    if (!folder)
        return pgb_error_nomem(b->connection.ctx);
    char *slash = strrchr(folder, '/');
    int rc = PGB_OK;
    if (slash && slash != folder) {
        *slash = '\0';
        LIBSSH2_SFTP_ATTRIBUTES attributes;
        if (libssh2_sftp_stat_ex(b->connection.sftp, folder, (unsigned)strlen(folder), LIBSSH2_SFTP_STAT,
                                 &attributes) != 0) {
            unsigned long status = sftp_status(&b->connection);
            if (status != LIBSSH2_FX_NO_SUCH_FILE && status != LIBSSH2_FX_NO_SUCH_PATH) {
                free(folder);
                return sftp_fail(&b->connection, "create", object);
            }
            rc = make_parents(b, folder, object);
            if (rc == PGB_OK &&
                libssh2_sftp_mkdir_ex(b->connection.sftp, folder, (unsigned)strlen(folder), 0700) != 0 &&
                /* made meanwhile by another writer? */
                libssh2_sftp_stat_ex(b->connection.sftp, folder, (unsigned)strlen(folder), LIBSSH2_SFTP_STAT,
                                     &attributes) != 0)
                rc = sftp_fail(&b->connection, "make folder", folder);
        }
    }
    free(folder);
    return rc;
}

static void free_writer(struct sftp_writer *w)
{
    free(w->path);
    free(w->tmp_path);
    free(w);
}

static int sftp_open_write(void *payload, const char *key, int flags, void **stream)
{
    struct sftp_backend *b = payload;
    int rc = enter(b);
    if (rc != PGB_OK)
        return rc;
    struct sftp_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return pgb_error_nomem(b->connection.ctx);
    w->flags = flags;
    w->path = full_path(b, key);
    w->tmp_path = w->path ? hidden_beside(w->path, "tmp") : NULL;
    if (!w->path || !w->tmp_path) {
        free_writer(w);
        return pgb_error_nomem(b->connection.ctx);
    }
    rc = make_parents(b, w->path, w->path);
    if (rc == PGB_OK) {
        w->handle = libssh2_sftp_open_ex(b->connection.sftp, w->tmp_path, (unsigned)strlen(w->tmp_path),
                                         LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600,
                                         LIBSSH2_SFTP_OPENFILE);
        if (!w->handle)
            rc = sftp_fail(&b->connection, "create", w->tmp_path);
    }
    if (rc != PGB_OK) {
        free_writer(w);
        return rc;
    }
    *stream = w;
    return PGB_OK;
}

static int sftp_write(void *payload, void *stream, const void *data, size_t size)
{
    struct sftp_backend *b = payload;
    struct sftp_writer *w = stream;
    if (b->connection.pid != getpid()) /* a forked child cannot go on with its parent's write */
        return pgb_error_set(b->connection.ctx, PGB_EIO, "storage %s: a write begun by another process",
                             b->connection.config->url);
    const char *p = data;
    while (size > 0) {
        ssize_t n = libssh2_sftp_write(w->handle, p, size);
        if (n < 0)
            return sftp_fail(&b->connection, "write", w->tmp_path);
        p += n;
        size -= (size_t)n;
    }
    return PGB_OK;
}

static int exists(struct sftp_backend *b, const char *path)
{
    LIBSSH2_SFTP_ATTRIBUTES attributes;
    return libssh2_sftp_stat_ex(b->connection.sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_LSTAT,
                                &attributes) == 0;
}

static int rename_path(struct sftp_backend *b, const char *from, const char *to)
{
    /* Flags are ignored by SFTP version 3 servers such as OpenSSH, whose rename never replaces. */
    return libssh2_sftp_rename_ex(b->connection.sftp, from, (unsigned)strlen(from), to, (unsigned)strlen(to), 0);
}

static void unlink_path(struct sftp_backend *b, const char *path)
{
    libssh2_sftp_unlink_ex(b->connection.sftp, path, (unsigned)strlen(path));
}

/* Put tmp_path in the place of path, replacing what is there. */
static int replace(struct sftp_backend *b, struct sftp_writer *w)
{
    if (rename_path(b, w->tmp_path, w->path) == 0)
        return PGB_OK;
    if (!exists(b, w->path))
        return sftp_fail(&b->connection, "rename into", w->path);
    char *old = hidden_beside(w->path, "old");
    if (!old)
        return pgb_error_nomem(b->connection.ctx);
    int rc = PGB_OK;
    if (rename_path(b, w->path, old) != 0) {
        rc = sftp_fail(&b->connection, "move aside", w->path);
    } else if (rename_path(b, w->tmp_path, w->path) != 0) {
        rc = sftp_fail(&b->connection, "rename into", w->path);
        rename_path(b, old, w->path); /* put the old object back */
    } else {
        unlink_path(b, old);
    }
    free(old);
    return rc;
}

static int sftp_commit(void *payload, void *stream)
{
    struct sftp_backend *b = payload;
    struct sftp_writer *w = stream;
    int rc = PGB_OK;
    if (b->connection.pid != getpid()) {
        free_writer(w);
        return pgb_error_set(b->connection.ctx, PGB_EIO, "storage %s: a write begun by another process",
                             b->connection.config->url);
    }
    /* fsync@openssh.com where the server has it; without it the server's own write-back applies. */
    if (libssh2_sftp_fsync(w->handle) != 0 && sftp_status(&b->connection) != LIBSSH2_FX_OP_UNSUPPORTED)
        rc = sftp_fail(&b->connection, "fsync", w->tmp_path);
    if (libssh2_sftp_close_handle(w->handle) != 0 && rc == PGB_OK)
        rc = sftp_fail(&b->connection, "close", w->tmp_path);
    if (rc == PGB_OK) {
        if (w->flags & PGB_STORAGE_NO_OVERWRITE) {
            if (rename_path(b, w->tmp_path, w->path) != 0)
                rc = exists(b, w->path) ? pgb_error_set(b->connection.ctx, PGB_EEXISTS, "storage %s: %s exists "
                                                        "already", b->connection.config->url, w->path)
                                        : sftp_fail(&b->connection, "rename into", w->path);
        } else {
            rc = replace(b, w);
        }
    }
    if (rc != PGB_OK)
        unlink_path(b, w->tmp_path);
    free_writer(w);
    return rc;
}

static void sftp_abort(void *payload, void *stream)
{
    struct sftp_backend *b = payload;
    struct sftp_writer *w = stream;
    if (b->connection.pid == getpid()) {
        libssh2_sftp_close_handle(w->handle);
        unlink_path(b, w->tmp_path);
    }
    free_writer(w);
}

static int list_folder(struct sftp_backend *b, const char *key_prefix, const char *prefix, pgb_storage_list_fn each,
                       void *each_payload)
{
    struct sftp_connection *c = &b->connection;
    char *folder = key_prefix[0] ? pgb_text_printf("%s/%.*s", c->config->root, (int)strlen(key_prefix) - 1,
                                                   key_prefix)
                                 : pgb_text_dup(c->config->root);
    if (!folder)
        return pgb_error_nomem(c->ctx);
    LIBSSH2_SFTP_HANDLE *dir = libssh2_sftp_open_ex(c->sftp, folder, (unsigned)strlen(folder), 0, 0,
                                                    LIBSSH2_SFTP_OPENDIR);
    if (!dir) {
        unsigned long status = sftp_status(c);
        int rc = status == LIBSSH2_FX_NO_SUCH_FILE || status == LIBSSH2_FX_NO_SUCH_PATH ? PGB_OK
                                                                                         : sftp_fail(c, "list", folder);
        free(folder);
        return rc;
    }
    int rc = PGB_OK;
    char name[1024];
    LIBSSH2_SFTP_ATTRIBUTES attributes;
    for (;;) {
        int n = libssh2_sftp_readdir_ex(dir, name, sizeof(name), NULL, 0, &attributes);
        if (n < 0) {
            rc = sftp_fail(c, "list", folder);
            break;
        }
        if (n == 0)
            break;
        if (name[0] == '.') /* ".", "..", and temp files of writes in progress */
            continue;
        char *key = pgb_text_printf("%s%s", key_prefix, name);
        if (!key) {
            rc = pgb_error_nomem(c->ctx);
            break;
        }
        size_t key_length = strlen(key), prefix_length = strlen(prefix);
        int relevant = strncmp(key, prefix, key_length < prefix_length ? key_length : prefix_length) == 0;
        int is_dir = (attributes.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(attributes.permissions);
        int is_file = (attributes.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISREG(attributes.permissions);
        if (relevant && is_dir) {
            char *sub = pgb_text_printf("%s/", key);
            rc = sub ? list_folder(b, sub, prefix, each, each_payload) : pgb_error_nomem(c->ctx);
            free(sub);
        } else if (relevant && is_file && strncmp(key, prefix, prefix_length) == 0) {
            if (each(key, attributes.filesize, each_payload) != 0)
                rc = pgb_error_set(c->ctx, PGB_ECANCELED, "listing of %s stopped by its callback", c->config->url);
        }
        free(key);
        if (rc != PGB_OK)
            break;
    }
    libssh2_sftp_close_handle(dir);
    free(folder);
    return rc;
}

static int sftp_list(void *payload, const char *prefix, pgb_storage_list_fn each, void *each_payload)
{
    struct sftp_backend *b = payload;
    int rc = enter(b);
    return rc == PGB_OK ? list_folder(b, "", prefix, each, each_payload) : rc;
}

static int sftp_stat(void *payload, const char *key, uint64_t *size)
{
    struct sftp_backend *b = payload;
    int rc = enter(b);
    if (rc != PGB_OK)
        return rc;
    char *path = full_path(b, key);
    if (!path)
        return pgb_error_nomem(b->connection.ctx);
    LIBSSH2_SFTP_ATTRIBUTES attributes;
    if (libssh2_sftp_stat_ex(b->connection.sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_STAT, &attributes) != 0)
        rc = sftp_fail(&b->connection, "stat", path);
    else if ((attributes.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && !LIBSSH2_SFTP_S_ISREG(attributes.permissions))
        rc = pgb_error_set(b->connection.ctx, PGB_ENOTFOUND, "storage %s: %s is not an object (not a regular file)",
                           b->connection.config->url, path);
    else
        *size = attributes.filesize;
    free(path);
    return rc;
}

static int sftp_remove(void *payload, const char *key)
{
    struct sftp_backend *b = payload;
    int rc = enter(b);
    if (rc != PGB_OK)
        return rc;
    char *path = full_path(b, key);
    if (!path)
        return pgb_error_nomem(b->connection.ctx);
    if (libssh2_sftp_unlink_ex(b->connection.sftp, path, (unsigned)strlen(path)) != 0) {
        unsigned long status = sftp_status(&b->connection);
        if (status != LIBSSH2_FX_NO_SUCH_FILE && status != LIBSSH2_FX_NO_SUCH_PATH)
            rc = sftp_fail(&b->connection, "remove", path);
    }
    free(path);
    return rc;
}

static void sftp_free(void *payload)
{
    struct sftp_backend *b = payload;
    sftp_disconnect(&b->connection);
    free(b);
}

static int sftp_reopen(void *payload, pgb_ctx *ctx, struct pgb_storage_backend *out);

static int make_backend(pgb_ctx *ctx, struct sftp_config *config, struct pgb_storage_backend *out)
{
    struct sftp_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return pgb_error_nomem(ctx);
    int rc = sftp_connect(&b->connection, ctx, config);
    if (rc != PGB_OK) {
        sftp_free(b);
        return rc;
    }
    *out = (struct pgb_storage_backend){
        .ops =
            {
                .version = PGB_STORAGE_OPS_VERSION,
                .open_read = sftp_open_read,
                .read = sftp_read,
                .close_read = sftp_close_read,
                .open_write = sftp_open_write,
                .write = sftp_write,
                .commit = sftp_commit,
                .abort = sftp_abort,
                .list = sftp_list,
                .stat = sftp_stat,
                .remove = sftp_remove,
                .free = sftp_free,
            },
        .payload = b,
        .reopen = sftp_reopen,
    };
    return PGB_OK;
}

static int sftp_reopen(void *payload, pgb_ctx *ctx, struct pgb_storage_backend *out)
{
    struct sftp_backend *b = payload;
    return make_backend(ctx, b->connection.config, out);
}

int pgb_sftp_backend_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct pgb_storage_backend *out)
{
    struct sftp_config *config;
    int rc = sftp_config_new(ctx, url, opts, &config);
    if (rc != PGB_OK)
        return rc;
    rc = make_backend(ctx, config, out);
    sftp_config_unref(config);
    return rc;
}
