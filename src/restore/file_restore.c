#include "restore/file_restore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>
#include <pgbackup/progress.h>

#include "core/error.h"
#include "core/worker_pool.h"
#include "restore/read_workers.h"
#include "restore/restore_writer.h"

int pgb_restore_check_canceled(struct restore_writer *w)
{
    if (pgb_ctx_is_canceled(w->shared->caller))
        return pgb_error_set(w->repo->ctx, PGB_ECANCELED, "operation canceled");
    return PGB_OK;
}

int pgb_restore_io_error(pgb_ctx *ctx, const char *what, const char *path)
{
    return pgb_error_set(ctx, PGB_EIO, "cannot %s %s: %s", what, path, strerror(errno));
}

/* The path on disk of an entry: tablespace content goes to its (mapped) location. */
int pgb_restore_target_path(pgb_ctx *ctx, const char *dir, const struct pgb_file_restore_options *o, const char *path,
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

int pgb_restore_make_parents(pgb_ctx *ctx, const char *path)
{
    char buffer[PATH_MAX];
    snprintf(buffer, sizeof(buffer), "%s", path);
    for (char *p = buffer + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buffer, 0700) != 0 && errno != EEXIST)
            return pgb_restore_io_error(ctx, "make folder", buffer);
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

static int write_chunks(struct restore_writer *w, const struct pgb_file_entry *e, int fd, const char *path,
                        EVP_MD_CTX *md)
{
    struct pgb_repo *repo = w->repo;
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
                    rc = pgb_restore_io_error(repo->ctx, "write", path);
                else
                    done += (size_t)n;
            }
        }
        pgb_object_reader_close(r);
        if (rc == PGB_OK)
            rc = pgb_restore_check_canceled(w);
        if (rc != PGB_OK)
            break;
    }
    free(buffer);
    return rc;
}

static int restore_file(struct restore_writer *w, const struct pgb_file_entry *e, const char *path)
{
    pgb_ctx *ctx = w->repo->ctx;
    int rc = pgb_restore_make_parents(ctx, path);
    if (rc != PGB_OK)
        return rc;
    unlink(path); /* --delta: a different file may stand there */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pgb_restore_io_error(ctx, "create", path);
    if (e->chained && e->chunk_count) {
        rc = pgb_restore_write_piece(w, e, 0, e->chunk_count, fd, path);
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? PGB_OK : pgb_error_nomem(ctx);
        if (rc == PGB_OK)
            rc = write_chunks(w, e, fd, path, md);
        uint8_t digest[32];
        unsigned int size = 0;
        if (rc == PGB_OK &&
            (EVP_DigestFinal_ex(md, digest, &size) != 1 || CRYPTO_memcmp(digest, e->sha256, 32) != 0))
            rc = pgb_error_set(ctx, PGB_ECORRUPT, "restored file %s does not match the SHA-256 recorded for %s",
                               path, e->path);
        EVP_MD_CTX_free(md);
    }
    if (rc == PGB_OK)
        pgb_restore_start_writeback(fd, 0, e->size);
    if (fchmod(fd, e->mode & 07777) != 0 && rc == PGB_OK)
        rc = pgb_restore_io_error(ctx, "set the mode of", path);
    if (close(fd) != 0 && rc == PGB_OK)
        rc = pgb_restore_io_error(ctx, "close", path);
    if (rc != PGB_OK)
        unlink(path);
    return rc;
}

void pgb_restore_set_mtime(const char *path, int64_t mtime)
{
    struct timeval times[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
    lutimes(path, times);
}

static int restore_entry(struct restore_writer *w, const struct pgb_file_entry *e)
{
    pgb_ctx *ctx = w->repo->ctx;
    const struct pgb_file_restore_options *o = w->shared->options;
    char path[PATH_MAX];
    int rc = pgb_restore_target_path(ctx, w->shared->dir, o, e->path, path);
    if (rc != PGB_OK)
        return rc;
    switch (e->type) {
    case PGB_FILE_DIRECTORY:
        rc = pgb_restore_make_parents(ctx, path);
        if (rc == PGB_OK && mkdir(path, e->mode & 07777) != 0 && errno != EEXIST)
            rc = pgb_restore_io_error(ctx, "make folder", path);
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
                        return pgb_restore_io_error(ctx, "make folder", link);
                }
        rc = pgb_restore_make_parents(ctx, path);
        unlink(path);
        if (rc == PGB_OK && symlink(link, path) != 0)
            rc = pgb_restore_io_error(ctx, "make link", path);
        return rc;
    }
    default:
        if (o->delta && same_file(path, e)) {
            w->stats.files_reused++;
        } else {
            rc = restore_file(w, e, path);
            w->stats.bytes += e->size;
        }
        if (rc == PGB_OK) {
            w->stats.files++;
            pgb_restore_set_mtime(path, e->mtime);
        }
        return rc;
    }
}

/* Write regular files off the shared order until none is left, a writer failed, or the restore is canceled. */
static int write_files(struct restore_writer *w)
{
    struct restore_shared *s = w->shared;
    for (;;) {
        if (atomic_load(&s->stop))
            return PGB_OK; /* whoever stopped says why */
        int rc = pgb_restore_check_canceled(w);
        if (rc != PGB_OK)
            return rc;
        size_t next = atomic_fetch_add(&s->next, 1);
        if (next >= s->item_count)
            return PGB_OK;
        const struct restore_item *item = &s->items[next];
        const struct pgb_file_entry *e = &s->list->entries[item->entry];
        rc = item->count ? pgb_restore_piece(w, item) : restore_entry(w, e);
        if (rc != PGB_OK) {
            /* A damaged chunk names its pack, not the file: say which file it was. */
            if (rc != PGB_ECANCELED && !strstr(pgb_ctx_errmsg(w->repo->ctx), e->path))
                pgb_error_prefix(w->repo->ctx, "cannot restore %s", e->path);
            return rc;
        }
    }
}

/* A worker thread's task; its error goes back as text, and stops the other workers. */
static int restore_worker(void *arg, char *errbuf, size_t errlen)
{
    struct restore_writer *w = arg;
    int rc = write_files(w);
    pgb_restore_writer_release(w);
    if (rc != PGB_OK) {
        snprintf(errbuf, errlen, "%s", pgb_ctx_errmsg(w->repo->ctx));
        atomic_store(&w->shared->stop, 1);
    }
    return rc;
}

/* Write the ordered files with count workers; the first failure goes to the caller's context. */
static int run_workers(struct restore_writer *calling, int count)
{
    struct pgb_repo *repo = calling->repo;
    struct pgb_read_worker *handles = NULL;
    struct restore_writer *writers = calloc((size_t)count, sizeof(*writers));
    int rc = writers ? pgb_read_workers_open(&handles, repo, count) : pgb_error_nomem(repo->ctx);
    pgb_worker_pool *pool = NULL;
    if (rc == PGB_OK)
        rc = pgb_worker_pool_new(repo->ctx, count, &pool);
    for (int i = 0; rc == PGB_OK && i < count; i++) {
        writers[i] = (struct restore_writer){.shared = calling->shared, .repo = handles[i].repo};
        rc = pgb_worker_pool_submit(pool, restore_worker, &writers[i]);
    }
    if (rc != PGB_OK)
        atomic_store(&calling->shared->stop, 1);
    int wait_rc = pool ? pgb_worker_pool_wait(pool) : PGB_OK;
    pgb_worker_pool_free(pool);
    if (rc == PGB_OK)
        rc = wait_rc;
    for (int i = 0; writers && i < count; i++) {
        calling->stats.files += writers[i].stats.files;
        calling->stats.bytes += writers[i].stats.bytes;
        calling->stats.files_reused += writers[i].stats.files_reused;
    }
    pgb_read_workers_free(handles, count);
    free(writers);
    return rc;
}

int pgb_restore_files(struct pgb_repo *repo, const struct pgb_file_list *list, const char *dir,
                      const struct pgb_file_restore_options *options, struct pgb_file_restore_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    struct restore_shared shared = {.caller = repo->ctx, .list = list, .dir = dir, .options = options};
    struct restore_writer calling = {.shared = &shared, .repo = repo};
    const struct pgb_file_entry *control = NULL;
    int rc = PGB_OK;
    if (rc == PGB_OK && options->delta) {
        /* The target's old pg_control goes first: a delta restore that fails must not leave a startable mix. */
        char old_control[PATH_MAX];
        snprintf(old_control, sizeof(old_control), "%s/%s", dir, PGB_RESTORE_PG_CONTROL);
        if (unlink(old_control) != 0 && errno != ENOENT)
            rc = pgb_restore_io_error(repo->ctx, "remove", old_control);
    }
    /* Folders first (the list may name a file before its folder), then links, on this thread; files after. */
    for (int pass = 0; pass < 2 && rc == PGB_OK; pass++)
        for (size_t i = 0; i < list->count && rc == PGB_OK; i++) {
            const struct pgb_file_entry *e = &list->entries[i];
            if (e->type != (pass == 0 ? PGB_FILE_DIRECTORY : PGB_FILE_SYMLINK))
                continue;
            rc = restore_entry(&calling, e);
        }
    if (rc == PGB_OK)
        rc = pgb_restore_plan_items(repo->ctx, list, options, &shared, &control);
    if (rc == PGB_OK)
        rc = pgb_restore_make_large_files(&calling);
    int workers = pgb_read_worker_count(repo, options->workers, "restoring");
    if ((size_t)workers > shared.item_count)
        workers = shared.item_count > 1 ? (int)shared.item_count : 1;
    if (rc == PGB_OK)
        rc = workers > 1 ? run_workers(&calling, workers) : write_files(&calling);
    if (rc == PGB_OK)
        rc = pgb_restore_check_canceled(&calling);
    if (rc == PGB_OK)
        rc = pgb_restore_finish_large_files(&calling);
    if (rc != PGB_OK)
        pgb_restore_remove_large_files(&calling);
    if (rc == PGB_OK && options->before_control)
        rc = options->before_control(options->before_control_payload);
    if (rc == PGB_OK && control)
        rc = restore_entry(&calling, control);
    free(shared.items);
    pgb_restore_writer_release(&calling);
    *stats = calling.stats;
    if (rc == PGB_OK) {
        /* One flush of the whole file system beats an fsync per file. */
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) != 0)
            rc = pgb_restore_io_error(repo->ctx, "flush to disk", dir);
        if (fd >= 0)
            close(fd);
    }
    return rc;
}
