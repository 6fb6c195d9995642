#include "restore/file_restore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/progress.h"

static const char pg_control[] = "global/pg_control";

static int io_error(pgb_ctx *ctx, const char *what, const char *path)
{
    return pgb_error_set(ctx, PGB_EIO, "cannot %s %s: %s", what, path, strerror(errno));
}

/* The path on disk of an entry: tablespace content goes to its (mapped) location. */
static int target_path(pgb_ctx *ctx, const char *dir, const struct pgb_file_restore_options *o, const char *path,
                       char out[PATH_MAX])
{
    unsigned oid = 0;
    int used = 0;
    if (sscanf(path, "pg_tblspc/%u/%n", &oid, &used) == 1 && used > 0) {
        for (size_t i = 0; i < o->tablespace_count; i++)
            if (o->tablespaces[i].oid == oid) {
                if (snprintf(out, PATH_MAX, "%s/%s", o->tablespaces[i].location, path + used) >= PATH_MAX)
                    return pgb_error_set(ctx, PGB_EINVALID, "path too long under %s", o->tablespaces[i].location);
                return PGB_OK;
            }
        return pgb_error_set(ctx, PGB_EINVALID, "no location for tablespace %u (entry %s)", oid, path);
    }
    if (snprintf(out, PATH_MAX, "%s/%s", dir, path) >= PATH_MAX)
        return pgb_error_set(ctx, PGB_EINVALID, "path too long: %s/%s", dir, path);
    return PGB_OK;
}

static int make_parents(pgb_ctx *ctx, const char *path)
{
    char buffer[PATH_MAX];
    snprintf(buffer, sizeof(buffer), "%s", path);
    for (char *p = buffer + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buffer, 0700) != 0 && errno != EEXIST)
            return io_error(ctx, "make folder", buffer);
        *p = '/';
    }
    return PGB_OK;
}

/* Whether path holds exactly the bytes of entry already (for --delta). */
static int same_file(const char *path, const struct pgb_file_entry *e)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    uint8_t buffer[65536];
    ssize_t n;
    while (ok && (n = read(fd, buffer, sizeof(buffer))) > 0)
        ok = EVP_DigestUpdate(md, buffer, (size_t)n) == 1;
    uint8_t digest[32];
    unsigned int size = 0;
    ok = ok && n == 0 && EVP_DigestFinal_ex(md, digest, &size) == 1 && CRYPTO_memcmp(digest, e->sha256, 32) == 0;
    EVP_MD_CTX_free(md);
    close(fd);
    return ok;
}

static int write_chunks(struct pgb_repo *repo, const struct pgb_file_entry *e, int fd, const char *path,
                        EVP_MD_CTX *md)
{
    enum { BUFFER_SIZE = 256 * 1024 };
    uint8_t *buffer = malloc(BUFFER_SIZE);
    if (!buffer)
        return pgb_error_nomem(repo->ctx);
    int rc = PGB_OK;
    for (size_t i = 0; i < e->chunk_count; i++) {
        pgb_object_reader *r = NULL;
        rc = pgb_chunk_reader_open(&r, repo, &e->chunks[i].ref);
        size_t got = 0;
        while (rc == PGB_OK && (rc = pgb_object_reader_read(r, buffer, BUFFER_SIZE, &got)) == PGB_OK && got) {
            if (EVP_DigestUpdate(md, buffer, got) != 1)
                rc = pgb_error_set(repo->ctx, PGB_ERROR, "SHA-256 failed in OpenSSL");
            for (size_t done = 0; rc == PGB_OK && done < got;) {
                ssize_t n = write(fd, buffer + done, got - done);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0)
                    rc = io_error(repo->ctx, "write", path);
                else
                    done += (size_t)n;
            }
        }
        pgb_object_reader_close(r);
        if (rc == PGB_OK)
            rc = pgb_check_canceled(repo->ctx);
        if (rc != PGB_OK)
            break;
    }
    free(buffer);
    return rc;
}

static int restore_file(struct pgb_repo *repo, const struct pgb_file_entry *e, const char *path)
{
    pgb_ctx *ctx = repo->ctx;
    int rc = make_parents(ctx, path);
    if (rc != PGB_OK)
        return rc;
    unlink(path); /* --delta: a different file may stand there */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_error(ctx, "create", path);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? PGB_OK : pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = write_chunks(repo, e, fd, path, md);
    uint8_t digest[32];
    unsigned int size = 0;
    if (rc == PGB_OK && (EVP_DigestFinal_ex(md, digest, &size) != 1 || CRYPTO_memcmp(digest, e->sha256, 32) != 0))
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "restored file %s does not match the SHA-256 recorded for %s", path,
                           e->path);
    EVP_MD_CTX_free(md);
    if (fchmod(fd, e->mode & 07777) != 0 && rc == PGB_OK)
        rc = io_error(ctx, "set the mode of", path);
    if (close(fd) != 0 && rc == PGB_OK)
        rc = io_error(ctx, "close", path);
    if (rc != PGB_OK)
        unlink(path);
    return rc;
}

static void set_mtime(const char *path, int64_t mtime)
{
    struct timeval times[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
    lutimes(path, times);
}

static int restore_entry(struct pgb_repo *repo, const struct pgb_file_entry *e, const char *dir,
                         const struct pgb_file_restore_options *o, struct pgb_file_restore_stats *stats)
{
    pgb_ctx *ctx = repo->ctx;
    char path[PATH_MAX];
    int rc = target_path(ctx, dir, o, e->path, path);
    if (rc != PGB_OK)
        return rc;
    switch (e->type) {
    case PGB_FILE_DIRECTORY:
        rc = make_parents(ctx, path);
        if (rc == PGB_OK && mkdir(path, e->mode & 07777) != 0 && errno != EEXIST)
            rc = io_error(ctx, "make folder", path);
        if (rc == PGB_OK)
            chmod(path, e->mode & 07777);
        return rc;
    case PGB_FILE_SYMLINK: {
        /* pg_tblspc/<oid> points at the tablespace's (mapped) location, as pg_basebackup -T does. */
        const char *link = e->link;
        unsigned oid = 0;
        int used = 0;
        if (sscanf(e->path, "pg_tblspc/%u%n", &oid, &used) == 1 && e->path[used] == '\0')
            for (size_t i = 0; i < o->tablespace_count; i++)
                if (o->tablespaces[i].oid == oid) {
                    link = o->tablespaces[i].location;
                    if (mkdir(link, 0700) != 0 && errno != EEXIST)
                        return io_error(ctx, "make folder", link);
                }
        rc = make_parents(ctx, path);
        unlink(path);
        if (rc == PGB_OK && symlink(link, path) != 0)
            rc = io_error(ctx, "make link", path);
        return rc;
    }
    default:
        if (o->delta && same_file(path, e)) {
            stats->files_reused++;
        } else {
            rc = restore_file(repo, e, path);
            stats->bytes += e->size;
        }
        if (rc == PGB_OK) {
            stats->files++;
            set_mtime(path, e->mtime);
        }
        return rc;
    }
}

int pgb_restore_files(struct pgb_repo *repo, const struct pgb_file_list *list, const char *dir,
                      const struct pgb_file_restore_options *options, struct pgb_file_restore_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    const struct pgb_file_entry *control = NULL;
    int rc = PGB_OK;
    /* Folders first (the list may name a file before its folder), then files and links. */
    for (int pass = 0; pass < 2 && rc == PGB_OK; pass++)
        for (size_t i = 0; i < list->count && rc == PGB_OK; i++) {
            const struct pgb_file_entry *e = &list->entries[i];
            if ((pass == 0) != (e->type == PGB_FILE_DIRECTORY))
                continue;
            if (strcmp(e->path, pg_control) == 0) {
                control = e;
                continue;
            }
            rc = restore_entry(repo, e, dir, options, stats);
        }
    if (rc == PGB_OK && control)
        rc = restore_entry(repo, control, dir, options, stats);
    if (rc == PGB_OK) {
        /* One flush of the whole file system beats an fsync per file. */
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) != 0)
            rc = io_error(repo->ctx, "flush to disk", dir);
        if (fd >= 0)
            close(fd);
    }
    return rc;
}
