/*
 * The parallel copy of a data directory's files (local physical backups).
 * Workers share only the list of files, a few atomics and a lock; everything
 * they allocate or report is their own until the calling thread, once they
 * are done, merges it.
 */
#include "backup/local_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>

#include "backup/page_checksum.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "core/worker_pool.h"
#include "storage/storage.h"

#define READ_SIZE ((size_t)1024 * 1024) /* a multiple of the page size */
#define PROGRESS_INTERVAL_MS 200

/* What the copiers share; workers touch only the atomics and the lock. */
struct copy_shared {
    pgb_ctx *ctx;                    /* the calling thread's; workers read only its cancel flag */
    const struct pgb_data_dir *tree;
    size_t *order;                   /* indexes of the files to copy, biggest first */
    size_t order_count;
    atomic_size_t next;
    atomic_int stop;                 /* a worker failed or the caller stops: the others end too */
    atomic_uint_fast64_t bytes_done;
    atomic_uint_fast64_t files_done;
    const struct pgb_local_copy_options *opts;
    uint64_t start_lsn;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int workers_done;
};

/* One copier: a worker thread's own handles, or the calling thread's. */
struct copier {
    struct copy_shared *shared;
    pgb_ctx *ctx;
    pgb_storage *storage;   /* owned by a worker */
    struct pgb_repo *repo;  /* owned by a worker (a view of the caller's) */
    pgb_content_writer *writer;
    int owns_handles;
    uint8_t *buffer;
    struct pgb_bad_page *bad;
    size_t bad_count, bad_capacity;
    struct pgb_progress *progress; /* set only on the calling thread: report while copying */
    uint64_t last_report_ms;
};

struct pgb_local_copy {
    struct pgb_local_copy_options opts;
    struct copy_shared shared;
    struct copier main;       /* the calling thread's, with the caller's repository */
    struct copier *workers;   /* NULL when the calling thread copies everything */
    int worker_count;
    struct pgb_bad_page *bad; /* merged */
    size_t bad_count;
};

/* ---- one file ---- */

/* Fill buffer from fd until full or at the end; *got says how much. */
static int read_full(pgb_ctx *ctx, int fd, const char *path, uint8_t *buffer, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        ssize_t n = read(fd, buffer + *got, size - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return pgb_error_set(ctx, PGB_EIO, "cannot read %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return PGB_OK;
}

/*
 * Whether a page fails its checksum. New pages (pd_upper 0) carry none, and
 * pages written since the backup started may be torn; WAL replay rewrites
 * them, so they are not checked (basebackup.c, sendFile).
 */
static int page_fails(const uint8_t *page, uint32_t block, uint64_t start_lsn)
{
    uint16_t upper, stored;
    uint32_t lsn_high, lsn_low;
    memcpy(&upper, page + 14, sizeof(upper));
    if (upper == 0)
        return 0;
    memcpy(&lsn_high, page, sizeof(lsn_high));
    memcpy(&lsn_low, page + 4, sizeof(lsn_low));
    if ((((uint64_t)lsn_high << 32) | lsn_low) >= start_lsn)
        return 0;
    memcpy(&stored, page + 8, sizeof(stored));
    return pgb_page_checksum((const char *)page, block) != stored;
}

static int note_bad_page(struct copier *c, const char *path, uint64_t block)
{
    if (c->bad_count == c->bad_capacity) {
        size_t capacity = c->bad_capacity ? c->bad_capacity * 2 : 16;
        struct pgb_bad_page *grown = realloc(c->bad, capacity * sizeof(*grown));
        if (!grown)
            return pgb_error_nomem(c->ctx);
        c->bad = grown;
        c->bad_capacity = capacity;
    }
    c->bad[c->bad_count].path = pgb_text_dup(path);
    if (!c->bad[c->bad_count].path)
        return pgb_error_nomem(c->ctx);
    c->bad[c->bad_count++].block = block;
    return PGB_OK;
}

/* Check the whole pages of the buffer, read at offset of the file; a failing page is read once more. */
static int check_pages(struct copier *c, const struct pgb_data_dir_entry *e, int fd, uint64_t offset, size_t got)
{
    const struct pgb_local_copy_options *o = c->shared->opts;
    for (size_t i = 0; i + PGB_PAGE_SIZE <= got; i += PGB_PAGE_SIZE) {
        uint64_t block = (uint64_t)e->segment * o->blocks_per_segment + (offset + i) / PGB_PAGE_SIZE;
        if (!page_fails(c->buffer + i, (uint32_t)block, c->shared->start_lsn))
            continue;
        /* It may have been read while the server wrote it: read it again, and keep what comes back. */
        ssize_t n = pread(fd, c->buffer + i, PGB_PAGE_SIZE, (off_t)(offset + i));
        if (n != (ssize_t)PGB_PAGE_SIZE)
            break; /* the file shrank meanwhile: WAL replay deals with the rest */
        if (page_fails(c->buffer + i, (uint32_t)block, c->shared->start_lsn)) {
            int rc = note_bad_page(c, e->path, block);
            if (rc != PGB_OK)
                return rc;
        }
    }
    return PGB_OK;
}

static int canceled(struct copier *c)
{
    if (pgb_ctx_is_canceled(c->shared->ctx))
        return pgb_error_set(c->ctx, PGB_ECANCELED, "operation canceled");
    return PGB_OK;
}

/* On the calling thread, when it copies: progress now and then. */
static int report_inline(struct copier *c)
{
    if (!c->progress)
        return PGB_OK;
    uint64_t now = pgb_monotonic_ms();
    if (now - c->last_report_ms < PROGRESS_INTERVAL_MS)
        return PGB_OK;
    c->last_report_ms = now;
    c->progress->bytes_done = atomic_load(&c->shared->bytes_done);
    c->progress->files_done = atomic_load(&c->shared->files_done);
    return pgb_progress_report(c->ctx, c->progress);
}

/* Copy one file into the copier's writer, recording the bytes actually read. */
static int copy_file(struct copier *c, const struct pgb_data_dir_entry *e, int verify)
{
    int fd = open(e->source, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* Dropped since the walk: not an error (basebackup.c agrees); WAL replay drops it too. */
        if (errno == ENOENT)
            return PGB_OK;
        return pgb_error_set(c->ctx, PGB_EIO, "cannot open %s: %s", e->source, strerror(errno));
    }
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? PGB_OK
                                 : pgb_error_set(c->ctx, PGB_EIO, "cannot stat %s: %s", e->source, strerror(errno));
    if (rc == PGB_OK)
        rc = pgb_content_writer_begin(c->writer, e->path, PGB_FILE_REGULAR, (uint32_t)(st.st_mode & 07777),
                                      (int64_t)st.st_mtime, NULL);
    uint64_t offset = 0;
    while (rc == PGB_OK) {
        size_t got = 0;
        rc = read_full(c->ctx, fd, e->source, c->buffer, READ_SIZE, &got);
        if (rc == PGB_OK && verify && e->relation)
            rc = check_pages(c, e, fd, offset, got);
        if (rc == PGB_OK && got > 0)
            rc = pgb_content_writer_data(c->writer, c->buffer, got);
        offset += got;
        atomic_fetch_add(&c->shared->bytes_done, got);
        if (rc != PGB_OK || got < READ_SIZE)
            break;
        rc = canceled(c);
        if (rc == PGB_OK)
            rc = report_inline(c);
    }
    close(fd);
    if (rc == PGB_OK)
        rc = pgb_content_writer_end(c->writer);
    return rc;
}

/* Take files off the shared order until none is left, another copier failed, or the job is canceled. */
static int copy_files(struct copier *c)
{
    struct copy_shared *s = c->shared;
    for (;;) {
        if (atomic_load(&s->stop))
            return PGB_OK; /* whoever stopped reports why */
        int rc = canceled(c);
        if (rc != PGB_OK)
            return rc;
        size_t next = atomic_fetch_add(&s->next, 1);
        if (next >= s->order_count)
            return PGB_OK;
        rc = copy_file(c, &s->tree->entries[s->order[next]], s->opts->verify_pages);
        if (rc == PGB_OK) {
            atomic_fetch_add(&s->files_done, 1);
            rc = report_inline(c);
        }
        if (rc != PGB_OK)
            return rc;
    }
}

/* ---- workers ---- */

/* A worker thread's task: copy, then commit its last pack. Its error goes back as text. */
static int copy_worker(void *arg, char *errbuf, size_t errlen)
{
    struct copier *c = arg;
    struct copy_shared *s = c->shared;
    int rc = copy_files(c);
    if (rc == PGB_OK && !atomic_load(&s->stop))
        rc = pgb_content_writer_finish(c->writer);
    if (rc != PGB_OK) {
        snprintf(errbuf, errlen, "%s", pgb_ctx_errmsg(c->ctx));
        atomic_store(&s->stop, 1);
    }
    pthread_mutex_lock(&s->lock);
    s->workers_done++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Give a worker its own context, storage handle, repository view and writer. */
static int worker_open(struct copier *c, struct pgb_repo *repo, const struct pgb_local_copy_options *o)
{
    c->owns_handles = 1;
    struct pgb_repo_worker handles;
    int rc = pgb_repo_worker_open(&handles, repo);
    c->ctx = handles.ctx;
    c->storage = handles.storage;
    c->repo = handles.repo;
    if (rc != PGB_OK)
        return rc;
    rc = pgb_content_writer_new(&c->writer, c->repo, o->codec, o->level, o->parent);
    if (rc == PGB_OK && !(c->buffer = malloc(READ_SIZE)))
        rc = pgb_error_nomem(c->ctx);
    if (rc != PGB_OK)
        rc = pgb_error_set(repo->ctx, rc, "cannot prepare a copy worker: %s", pgb_ctx_errmsg(c->ctx));
    return rc;
}

static void copier_close(struct copier *c)
{
    for (size_t i = 0; i < c->bad_count; i++)
        free(c->bad[i].path);
    free(c->bad);
    free(c->buffer);
    pgb_content_writer_free(c->writer);
    if (c->owns_handles)
        pgb_repo_worker_close(&(struct pgb_repo_worker){c->ctx, c->storage, c->repo});
}

/*
 * Run the workers, reporting progress on this thread until they are done.
 * A progress report that asks to stop, the cancel flag, or a worker's failure
 * stops them all; the first failure is what the caller sees.
 */
static int run_workers(pgb_local_copy *c, struct pgb_progress *progress)
{
    struct copy_shared *s = &c->shared;
    pgb_ctx *ctx = s->ctx;
    pgb_worker_pool *pool = NULL;
    int rc = pgb_worker_pool_new(ctx, c->worker_count, &pool);
    int submitted = 0;
    for (int i = 0; rc == PGB_OK && i < c->worker_count; i++) {
        rc = pgb_worker_pool_submit(pool, copy_worker, &c->workers[i]);
        submitted += rc == PGB_OK;
    }
    int progress_rc = PGB_OK;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (s->workers_done < submitted) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += PROGRESS_INTERVAL_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->changed, &s->lock, &until);
        }
        int finished = s->workers_done >= submitted;
        pthread_mutex_unlock(&s->lock);
        /* Once stopping, the pool's wait below does the waiting (it also covers tasks that never started). */
        if (finished || rc != PGB_OK || atomic_load(&s->stop) || pgb_ctx_is_canceled(ctx))
            break;
        progress->bytes_done = atomic_load(&s->bytes_done);
        progress->files_done = atomic_load(&s->files_done);
        progress_rc = pgb_progress_report(ctx, progress);
        if (progress_rc != PGB_OK) {
            atomic_store(&s->stop, 1);
            break;
        }
    }
    if (rc != PGB_OK)
        atomic_store(&s->stop, 1);
    int wait_rc = pool ? pgb_worker_pool_wait(pool) : PGB_OK;
    pgb_worker_pool_free(pool);
    if (rc == PGB_OK)
        rc = wait_rc != PGB_OK ? wait_rc : progress_rc;
    if (rc == PGB_OK)
        rc = pgb_check_canceled(ctx);
    return rc;
}

/* ---- the handle ---- */

int pgb_local_copy_new(pgb_local_copy **out, struct pgb_repo *repo, const struct pgb_local_copy_options *opts)
{
    *out = NULL;
    pgb_local_copy *c = calloc(1, sizeof(*c));
    if (!c)
        return pgb_error_nomem(repo->ctx);
    c->opts = *opts;
    c->shared.ctx = repo->ctx;
    c->shared.opts = &c->opts;
    pthread_mutex_init(&c->shared.lock, NULL);
    pthread_cond_init(&c->shared.changed, NULL);
    c->main = (struct copier){.shared = &c->shared, .ctx = repo->ctx};
    int workers = opts->workers > 0 ? opts->workers : 1;
    if (workers > 1 && !pgb_storage_reopenable(repo->storage)) {
        pgb_log(repo->ctx, PGB_LOG_INFO, "storage %s is made of callbacks, which serve one handle: copying with "
                "one worker instead of %d", pgb_storage_name(repo->storage), workers);
        workers = 1;
    }
    /* With workers, the calling thread's writer only takes folders, links and the last files: no reuse needed. */
    int rc = pgb_content_writer_new(&c->main.writer, repo, opts->codec, opts->level,
                                    workers == 1 ? opts->parent : NULL);
    if (rc == PGB_OK && !(c->main.buffer = malloc(READ_SIZE)))
        rc = pgb_error_nomem(repo->ctx);
    if (rc == PGB_OK && workers > 1) {
        c->workers = calloc((size_t)workers, sizeof(*c->workers));
        rc = c->workers ? PGB_OK : pgb_error_nomem(repo->ctx);
    }
    for (int i = 0; rc == PGB_OK && c->workers && i < workers; i++) {
        c->workers[i].shared = &c->shared;
        c->worker_count++;
        rc = worker_open(&c->workers[i], repo, opts);
    }
    if (rc != PGB_OK) {
        pgb_local_copy_free(c);
        return rc;
    }
    *out = c;
    return PGB_OK;
}

int pgb_local_copy_workers(const pgb_local_copy *c)
{
    return c->workers ? c->worker_count : 1;
}

static int bigger_first(const void *a, const void *b, void *payload)
{
    const struct pgb_data_dir *tree = payload;
    uint64_t x = tree->entries[*(const size_t *)a].size, y = tree->entries[*(const size_t *)b].size;
    return x < y ? 1 : x > y ? -1 : 0;
}

int pgb_local_copy_tree(pgb_local_copy *c, const struct pgb_data_dir *tree, uint64_t start_lsn,
                        struct pgb_progress *progress)
{
    pgb_ctx *ctx = c->shared.ctx;
    int rc = PGB_OK;
    for (size_t i = 0; rc == PGB_OK && i < tree->count; i++) {
        const struct pgb_data_dir_entry *e = &tree->entries[i];
        if (e->type == PGB_FILE_REGULAR)
            continue;
        rc = pgb_content_writer_begin(c->main.writer, e->path, e->type, e->mode, e->mtime, e->link);
        if (rc == PGB_OK)
            rc = pgb_content_writer_end(c->main.writer);
    }
    /* Every file but the last entry (pg_control), biggest first, so that the workers end together. */
    free(c->shared.order);
    c->shared.order = NULL;
    c->shared.order_count = 0;
    if (rc == PGB_OK && tree->file_count && !(c->shared.order = malloc(tree->file_count * sizeof(size_t))))
        rc = pgb_error_nomem(ctx);
    if (rc != PGB_OK)
        return rc;
    for (size_t i = 0; i + 1 < tree->count; i++)
        if (tree->entries[i].type == PGB_FILE_REGULAR)
            c->shared.order[c->shared.order_count++] = i;
    qsort_r(c->shared.order, c->shared.order_count, sizeof(size_t), bigger_first, (void *)tree);
    c->shared.tree = tree;
    c->shared.start_lsn = start_lsn;
    atomic_store(&c->shared.next, 0);
    if (c->workers)
        return run_workers(c, progress);
    c->main.progress = progress;
    rc = copy_files(&c->main);
    c->main.progress = NULL;
    return rc;
}

int pgb_local_copy_file(pgb_local_copy *c, const struct pgb_data_dir_entry *entry)
{
    int rc = copy_file(&c->main, entry, 0);
    if (rc == PGB_OK)
        atomic_fetch_add(&c->shared.files_done, 1);
    return rc;
}

int pgb_local_copy_add(pgb_local_copy *c, const char *path, uint32_t mode, const void *data, size_t size)
{
    int rc = pgb_content_writer_begin(c->main.writer, path, PGB_FILE_REGULAR, mode, (int64_t)time(NULL), NULL);
    if (rc == PGB_OK)
        rc = pgb_content_writer_data(c->main.writer, data, size);
    if (rc == PGB_OK)
        rc = pgb_content_writer_end(c->main.writer);
    return rc;
}

uint64_t pgb_local_copy_bytes(const pgb_local_copy *c)
{
    return atomic_load(&((pgb_local_copy *)c)->shared.bytes_done);
}

static int by_path_then_block(const void *a, const void *b)
{
    const struct pgb_bad_page *x = a, *y = b;
    int order = strcmp(x->path, y->path);
    return order ? order : x->block < y->block ? -1 : x->block > y->block;
}

/* Take over one copier's findings. */
static int merge_bad_pages(pgb_local_copy *c, struct copier *from)
{
    if (from->bad_count == 0)
        return PGB_OK;
    struct pgb_bad_page *grown = realloc(c->bad, (c->bad_count + from->bad_count) * sizeof(*grown));
    if (!grown)
        return pgb_error_nomem(c->shared.ctx);
    c->bad = grown;
    memcpy(c->bad + c->bad_count, from->bad, from->bad_count * sizeof(*grown));
    c->bad_count += from->bad_count;
    from->bad_count = 0;
    return PGB_OK;
}

int pgb_local_copy_bad_pages(pgb_local_copy *c, const struct pgb_bad_page **pages, size_t *count)
{
    int rc = merge_bad_pages(c, &c->main);
    for (int i = 0; rc == PGB_OK && c->workers && i < c->worker_count; i++)
        rc = merge_bad_pages(c, &c->workers[i]);
    if (rc == PGB_OK && c->bad_count > 1)
        qsort(c->bad, c->bad_count, sizeof(*c->bad), by_path_then_block);
    *pages = c->bad;
    *count = c->bad_count;
    return rc;
}

static void add_stats(struct pgb_content_stats *sum, struct pgb_content_stats more)
{
    sum->files += more.files;
    sum->bytes += more.bytes;
    sum->stored_bytes += more.stored_bytes;
    sum->chunks_new += more.chunks_new;
    sum->chunks_reused += more.chunks_reused;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct pgb_file_entry *)a)->path, ((const struct pgb_file_entry *)b)->path);
}

int pgb_local_copy_finish(pgb_local_copy *c, struct pgb_file_list *files, struct pgb_content_stats *stats)
{
    /* The workers committed their last packs already; the calling thread's writer commits its own now. */
    int rc = pgb_content_writer_finish(c->main.writer);
    memset(stats, 0, sizeof(*stats));
    if (rc == PGB_OK) {
        add_stats(stats, pgb_content_writer_stats(c->main.writer));
        rc = pgb_content_writer_move_list(c->main.writer, files);
    }
    for (int i = 0; rc == PGB_OK && c->workers && i < c->worker_count; i++) {
        add_stats(stats, pgb_content_writer_stats(c->workers[i].writer));
        if (pgb_content_writer_move_list(c->workers[i].writer, files) != PGB_OK)
            rc = pgb_error_nomem(c->shared.ctx); /* recorded in the worker's context: say it in the caller's */
    }
    if (rc == PGB_OK && files->count > 1)
        qsort(files->entries, files->count, sizeof(*files->entries), by_path);
    return rc;
}

void pgb_local_copy_free(pgb_local_copy *c)
{
    if (!c)
        return;
    for (int i = 0; c->workers && i < c->worker_count; i++)
        copier_close(&c->workers[i]);
    free(c->workers);
    copier_close(&c->main);
    for (size_t i = 0; i < c->bad_count; i++)
        free(c->bad[i].path);
    free(c->bad);
    free(c->shared.order);
    pthread_cond_destroy(&c->shared.changed);
    pthread_mutex_destroy(&c->shared.lock);
    free(c);
}
