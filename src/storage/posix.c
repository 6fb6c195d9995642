/*
 * The posix backend: objects are files under a root folder. A write goes to a
 * hidden temp file beside its target; commit fsyncs it, renames (or, with
 * PGB_STORAGE_NO_OVERWRITE, links, which fails atomically if the target exists)
 * and fsyncs the folder, so a crash leaves either the old state or the new one.
 * Folders are 0700 and files 0600: backups hold the whole database.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "storage/storage.h"

struct posix_backend {
    pgb_ctx *ctx;
    char *root;
};

struct posix_reader {
    int fd;
    char *path;
    uint64_t position, end; /* end: UINT64_MAX for "to the end of the file" */
};

struct posix_writer {
    int fd;
    int flags;
    char *path;     /* final name */
    char *tmp_path; /* hidden name while writing */
};

static int io_error(pgb_ctx *ctx, const char *what, const char *path)
{
    int saved = errno;
    int code = saved == ENOENT ? PGB_ENOTFOUND : saved == EEXIST ? PGB_EEXISTS : PGB_EIO;
    return pgb_error_set(ctx, code, "cannot %s %s: %s", what, path, strerror(saved));
}

static char *full_path(struct posix_backend *b, const char *key)
{
    return pgb_text_printf("%s/%s", b->root, key);
}

/* Make every missing folder of path's parent, 0700, fsyncing each new entry's parent. */
static int make_parents(pgb_ctx *ctx, const char *path)
{
    char buffer[PATH_MAX];
    if (snprintf(buffer, sizeof(buffer), "%s", path) >= (int)sizeof(buffer))
        return pgb_error_set(ctx, PGB_EINVALID, "path too long: %s", path);
    char *slash = strrchr(buffer, '/');
    if (!slash || slash == buffer)
        return PGB_OK;
    *slash = '\0';
    struct stat st;
    if (stat(buffer, &st) == 0)
        return S_ISDIR(st.st_mode) ? PGB_OK : pgb_error_set(ctx, PGB_EIO, "%s is not a folder", buffer);
    int rc = make_parents(ctx, buffer);
    if (rc != PGB_OK)
        return rc;
    if (mkdir(buffer, 0700) != 0 && errno != EEXIST)
        return io_error(ctx, "make folder", buffer);
    /* The new folder's entry must survive a crash too. */
    char *parent_slash = strrchr(buffer, '/');
    if (parent_slash && parent_slash != buffer) {
        *parent_slash = '\0';
        int dir = open(buffer, O_RDONLY | O_DIRECTORY);
        if (dir >= 0) {
            fsync(dir);
            close(dir);
        }
    }
    return PGB_OK;
}

static int sync_parent(pgb_ctx *ctx, const char *path)
{
    char folder[PATH_MAX];
    snprintf(folder, sizeof(folder), "%s", path);
    char *slash = strrchr(folder, '/');
    if (!slash)
        snprintf(folder, sizeof(folder), ".");
    else if (slash == folder)
        folder[1] = '\0';
    else
        *slash = '\0';
    int dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return io_error(ctx, "open folder", folder);
    int rc = fsync(dir) == 0 ? PGB_OK : io_error(ctx, "fsync folder", folder);
    close(dir);
    return rc;
}

static int posix_open_read(void *payload, const char *key, uint64_t offset, uint64_t length, void **stream)
{
    struct posix_backend *b = payload;
    char *path = full_path(b, key);
    if (!path)
        return pgb_error_nomem(b->ctx);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = io_error(b->ctx, "open", path);
        free(path);
        return rc;
    }
    struct posix_reader *r = malloc(sizeof(*r));
    if (!r) {
        close(fd);
        free(path);
        return pgb_error_nomem(b->ctx);
    }
    *r = (struct posix_reader){fd, path, offset, length ? offset + length : UINT64_MAX};
    *stream = r;
    return PGB_OK;
}

static int posix_read(void *payload, void *stream, void *buffer, size_t size, size_t *got)
{
    struct posix_backend *b = payload;
    struct posix_reader *r = stream;
    *got = 0;
    if (r->position >= r->end)
        return PGB_OK;
    if ((uint64_t)size > r->end - r->position)
        size = (size_t)(r->end - r->position);
    ssize_t n;
    do
        n = pread(r->fd, buffer, size, (off_t)r->position);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return io_error(b->ctx, "read", r->path);
    r->position += (uint64_t)n;
    *got = (size_t)n;
    return PGB_OK;
}

static void posix_close_read(void *payload, void *stream)
{
    (void)payload;
    struct posix_reader *r = stream;
    close(r->fd);
    free(r->path);
    free(r);
}

static void free_writer(struct posix_writer *w)
{
    free(w->path);
    free(w->tmp_path);
    free(w);
}

static int posix_open_write(void *payload, const char *key, int flags, void **stream)
{
    struct posix_backend *b = payload;
    struct posix_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return pgb_error_nomem(b->ctx);
    w->fd = -1;
    w->flags = flags;
    w->path = full_path(b, key);
    uint8_t random[6];
    RAND_bytes(random, sizeof(random));
    const char *slash = w->path ? strrchr(w->path, '/') : NULL;
    if (slash)
        w->tmp_path = pgb_text_printf("%.*s/.%s.tmp.%d.%02x%02x%02x%02x%02x%02x", (int)(slash - w->path),
                                      w->path, slash + 1, (int)getpid(), random[0], random[1], random[2],
                                      random[3], random[4], random[5]);
    if (!w->path || !w->tmp_path) {
        free_writer(w);
        return pgb_error_nomem(b->ctx);
    }
    int rc = make_parents(b->ctx, w->path);
    if (rc == PGB_OK) {
        w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd < 0)
            rc = io_error(b->ctx, "create", w->tmp_path);
    }
    if (rc != PGB_OK) {
        free_writer(w);
        return rc;
    }
    *stream = w;
    return PGB_OK;
}

static int posix_write(void *payload, void *stream, const void *data, size_t size)
{
    struct posix_backend *b = payload;
    struct posix_writer *w = stream;
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t n = write(w->fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_error(b->ctx, "write", w->path);
        p += n;
        size -= (size_t)n;
    }
    return PGB_OK;
}

static void posix_abort(void *payload, void *stream)
{
    (void)payload;
    struct posix_writer *w = stream;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp_path);
    free_writer(w);
}

static int posix_commit(void *payload, void *stream)
{
    struct posix_backend *b = payload;
    struct posix_writer *w = stream;
    int rc = PGB_OK;
    if (fsync(w->fd) != 0)
        rc = io_error(b->ctx, "fsync", w->path);
    if (close(w->fd) != 0 && rc == PGB_OK)
        rc = io_error(b->ctx, "close", w->path);
    w->fd = -1;
    if (rc == PGB_OK) {
        if (w->flags & PGB_STORAGE_NO_OVERWRITE) {
            /* link() fails with EEXIST atomically: never replaces an existing object. */
            if (link(w->tmp_path, w->path) != 0)
                rc = errno == EEXIST ? pgb_error_set(b->ctx, PGB_EEXISTS, "%s exists already", w->path)
                                     : io_error(b->ctx, "create", w->path);
            unlink(w->tmp_path);
        } else if (rename(w->tmp_path, w->path) != 0) {
            rc = io_error(b->ctx, "rename into", w->path);
        }
    }
    if (rc == PGB_OK)
        rc = sync_parent(b->ctx, w->path);
    else
        unlink(w->tmp_path);
    free_writer(w);
    return rc;
}

static int list_folder(struct posix_backend *b, const char *key_prefix, const char *prefix,
                       pgb_storage_list_fn each, void *each_payload)
{
    char *folder = key_prefix[0] ? pgb_text_printf("%s/%.*s", b->root, (int)strlen(key_prefix) - 1, key_prefix)
                                 : pgb_text_dup(b->root);
    if (!folder)
        return pgb_error_nomem(b->ctx);
    DIR *dir = opendir(folder);
    if (!dir) {
        int rc = errno == ENOENT || errno == ENOTDIR ? PGB_OK : io_error(b->ctx, "list", folder);
        free(folder);
        return rc;
    }
    int rc = PGB_OK;
    struct dirent *entry;
    while (rc == PGB_OK && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') /* ".", "..", and temp files of writes in progress */
            continue;
        char *key = pgb_text_printf("%s%s", key_prefix, entry->d_name);
        if (!key) {
            rc = pgb_error_nomem(b->ctx);
            break;
        }
        /* Descend only where the prefix can still match. */
        size_t key_len = strlen(key);
        int relevant = strncmp(key, prefix, key_len < strlen(prefix) ? key_len : strlen(prefix)) == 0;
        struct stat st;
        char *path = full_path(b, key);
        if (relevant && path && fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISDIR(st.st_mode)) {
                char *sub = pgb_text_printf("%s/", key);
                rc = sub ? list_folder(b, sub, prefix, each, each_payload) : pgb_error_nomem(b->ctx);
                free(sub);
            } else if (S_ISREG(st.st_mode) && strncmp(key, prefix, strlen(prefix)) == 0) {
                if (each(key, (uint64_t)st.st_size, each_payload) != 0)
                    rc = pgb_error_set(b->ctx, PGB_ECANCELED, "listing of %s stopped by its callback", b->root);
            }
        }
        free(path);
        free(key);
    }
    closedir(dir);
    free(folder);
    return rc;
}

static int posix_list(void *payload, const char *prefix, pgb_storage_list_fn each, void *each_payload)
{
    return list_folder(payload, "", prefix, each, each_payload);
}

static int posix_stat(void *payload, const char *key, uint64_t *size)
{
    struct posix_backend *b = payload;
    char *path = full_path(b, key);
    if (!path)
        return pgb_error_nomem(b->ctx);
    struct stat st;
    int rc = PGB_OK;
    if (stat(path, &st) != 0)
        rc = io_error(b->ctx, "stat", path);
    else if (!S_ISREG(st.st_mode))
        rc = pgb_error_set(b->ctx, PGB_ENOTFOUND, "%s is not an object (not a regular file)", path);
    else
        *size = (uint64_t)st.st_size;
    free(path);
    return rc;
}

static int posix_remove(void *payload, const char *key)
{
    struct posix_backend *b = payload;
    char *path = full_path(b, key);
    if (!path)
        return pgb_error_nomem(b->ctx);
    int rc = PGB_OK;
    if (unlink(path) == 0)
        rc = sync_parent(b->ctx, path);
    else if (errno != ENOENT && errno != ENOTDIR)
        rc = io_error(b->ctx, "remove", path);
    free(path);
    return rc;
}

static void posix_free(void *payload)
{
    struct posix_backend *b = payload;
    free(b->root);
    free(b);
}

int pgb_posix_backend_new(pgb_ctx *ctx, const char *root, pgb_storage_ops *ops, void **payload)
{
    if (!root[0])
        return pgb_error_set(ctx, PGB_EINVALID, "storage path is empty");
    struct posix_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return pgb_error_nomem(ctx);
    b->ctx = ctx;
    b->root = pgb_text_dup(root);
    if (!b->root) {
        free(b);
        return pgb_error_nomem(ctx);
    }
    /* "/srv/backup/" and "/srv/backup" name the same folder. */
    size_t len = strlen(b->root);
    while (len > 1 && b->root[len - 1] == '/')
        b->root[--len] = '\0';
    *ops = (pgb_storage_ops){
        .version = PGB_STORAGE_OPS_VERSION,
        .open_read = posix_open_read,
        .read = posix_read,
        .close_read = posix_close_read,
        .open_write = posix_open_write,
        .write = posix_write,
        .commit = posix_commit,
        .abort = posix_abort,
        .list = posix_list,
        .stat = posix_stat,
        .remove = posix_remove,
        .free = posix_free,
    };
    *payload = b;
    return PGB_OK;
}
