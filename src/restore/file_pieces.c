/*
 * Large files with links (format 2) are restored in pieces of PIECE_CHUNKS
 * chunks by any worker, each chunk checked on its own against the file's
 * chain before it is written at its offset: one large relation file keeps
 * every worker busy. The calling thread makes such files at their full size
 * first and sets their mode and time once every piece is in.
 */
#include "restore/restore_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "repo/chunk_check.h"
#include "repo/content_writer.h"
#include "repo/pack.h"

static int pwrite_all(pgb_ctx *ctx, int fd, const uint8_t *data, size_t size, uint64_t offset, const char *path)
{
    while (size > 0) {
        ssize_t n = pwrite(fd, data, size, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return pgb_restore_io_error(ctx, "write", path);
        data += n;
        size -= (size_t)n;
        offset += (uint64_t)n;
    }
    return PGB_OK;
}

/*
 * Start writing [offset, offset + size) of fd to disk now, without waiting:
 * the final flush of the whole file system then finds most pages written
 * instead of starting on all of them (as PostgreSQL's flush_after settings do).
 */
void pgb_restore_start_writeback(int fd, uint64_t offset, uint64_t size)
{
#ifdef SYNC_FILE_RANGE_WRITE
    if (size > 0)
        (void)sync_file_range(fd, (off_t)offset, (off_t)size, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd, (void)offset, (void)size;
#endif
}

/* Write chunks [first, first + count) of a chained file into fd, each checked before it is written. */
int pgb_restore_write_piece(struct restore_writer *w, const struct pgb_file_entry *e, size_t first, size_t count,
                       int fd, const char *path)
{
    int rc = PGB_OK;
    if (!w->chunk_buffer && !(w->chunk_buffer = malloc(PGB_CHUNK_SIZE + 1)))
        rc = pgb_error_nomem(w->repo->ctx);
    if (rc == PGB_OK && !w->decompressor)
        rc = pgb_chunk_decompressor_new(w->repo->ctx, &w->decompressor);
    uint64_t offset = pgb_chunk_offset(e, first);
    for (size_t i = first; rc == PGB_OK && i < first + count; i++) {
        size_t got = 0;
        rc = pgb_chunk_read_checked(w->repo, e, i, offset, w->decompressor, w->chunk_buffer, &got);
        if (rc == PGB_OK)
            rc = pwrite_all(w->repo->ctx, fd, w->chunk_buffer, got, offset, path);
        if (rc == PGB_OK)
            rc = pgb_restore_check_canceled(w);
        offset += e->chunks[i].ref.plain_size;
    }
    return rc;
}

/* A piece of a large chained file, made at its full size beforehand (make_large_files). */
int pgb_restore_piece(struct restore_writer *w, const struct restore_item *item)
{
    const struct pgb_file_entry *e = &w->shared->list->entries[item->entry];
    pgb_ctx *ctx = w->repo->ctx;
    char path[PATH_MAX];
    int rc = pgb_restore_target_path(ctx, w->shared->dir, w->shared->options, e->path, path);
    if (rc != PGB_OK)
        return rc;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return pgb_restore_io_error(ctx, "open", path);
    rc = pgb_restore_write_piece(w, e, item->first, item->count, fd, path);
    if (rc == PGB_OK)
        pgb_restore_start_writeback(fd, pgb_chunk_offset(e, item->first), item->bytes);
    if (close(fd) != 0 && rc == PGB_OK)
        rc = pgb_restore_io_error(ctx, "close", path);
    if (rc == PGB_OK)
        w->stats.bytes += item->bytes;
    return rc;
}

void pgb_restore_writer_release(struct restore_writer *w)
{
    pgb_chunk_decompressor_free(w->decompressor);
    free(w->chunk_buffer);
    w->decompressor = NULL;
    w->chunk_buffer = NULL;
}

static int bigger_first(const void *a, const void *b)
{
    const struct restore_item *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->entry != y->entry ? (x->entry < y->entry ? -1 : 1) : (x->first < y->first ? -1 : x->first > y->first);
}

/* Whether e is written in pieces by several workers. */
static int in_pieces(const struct pgb_file_entry *e, const struct pgb_file_restore_options *o)
{
    return !o->delta && e->chained && e->chunk_count > PIECE_CHUNKS;
}

/* The work: one item per regular file but pg_control, or one per piece of a large chained file. */
int pgb_restore_plan_items(pgb_ctx *ctx, const struct pgb_file_list *list, const struct pgb_file_restore_options *o,
                      struct restore_shared *shared, const struct pgb_file_entry **control)
{
    size_t count = 0;
    for (size_t i = 0; i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type == PGB_FILE_REGULAR)
            count += in_pieces(e, o) ? (e->chunk_count + PIECE_CHUNKS - 1) / PIECE_CHUNKS : 1;
    }
    shared->items = count ? malloc(count * sizeof(*shared->items)) : NULL;
    if (count && !shared->items)
        return pgb_error_nomem(ctx);
    for (size_t i = 0; i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type != PGB_FILE_REGULAR)
            continue;
        if (strcmp(e->path, PGB_RESTORE_PG_CONTROL) == 0) {
            *control = e;
            continue;
        }
        if (!in_pieces(e, o)) {
            shared->items[shared->item_count++] = (struct restore_item){i, 0, 0, e->size};
            continue;
        }
        for (size_t first = 0; first < e->chunk_count; first += PIECE_CHUNKS) {
            size_t n = e->chunk_count - first < PIECE_CHUNKS ? e->chunk_count - first : PIECE_CHUNKS;
            uint64_t bytes = 0;
            for (size_t c = first; c < first + n; c++)
                bytes += e->chunks[c].ref.plain_size;
            shared->items[shared->item_count++] = (struct restore_item){i, first, n, bytes};
        }
    }
    /* Biggest first, so that one large file written whole does not end last on one worker. */
    if (shared->item_count > 1)
        qsort(shared->items, shared->item_count, sizeof(*shared->items), bigger_first);
    return PGB_OK;
}

/* Files written in pieces are made at their full size first, on this thread. */
int pgb_restore_make_large_files(struct restore_writer *w)
{
    const struct restore_shared *s = w->shared;
    pgb_ctx *ctx = w->repo->ctx;
    int rc = PGB_OK;
    for (size_t k = 0; rc == PGB_OK && k < s->item_count; k++) {
        const struct restore_item *item = &s->items[k];
        if (!item->count || item->first != 0)
            continue;
        const struct pgb_file_entry *e = &s->list->entries[item->entry];
        char path[PATH_MAX];
        rc = pgb_restore_target_path(ctx, s->dir, s->options, e->path, path);
        if (rc == PGB_OK)
            rc = pgb_restore_make_parents(ctx, path);
        if (rc != PGB_OK)
            break;
        unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return pgb_restore_io_error(ctx, "create", path);
        if (ftruncate(fd, (off_t)e->size) != 0)
            rc = pgb_restore_io_error(ctx, "size", path);
        if (close(fd) != 0 && rc == PGB_OK)
            rc = pgb_restore_io_error(ctx, "close", path);
    }
    return rc;
}

/* Once every piece is written: the mode and mtime of files written in pieces. */
int pgb_restore_finish_large_files(struct restore_writer *w)
{
    const struct restore_shared *s = w->shared;
    pgb_ctx *ctx = w->repo->ctx;
    for (size_t k = 0; k < s->item_count; k++) {
        const struct restore_item *item = &s->items[k];
        if (!item->count || item->first != 0)
            continue;
        const struct pgb_file_entry *e = &s->list->entries[item->entry];
        char path[PATH_MAX];
        int rc = pgb_restore_target_path(ctx, s->dir, s->options, e->path, path);
        if (rc != PGB_OK)
            return rc;
        if (chmod(path, e->mode & 07777) != 0)
            return pgb_restore_io_error(ctx, "set the mode of", path);
        pgb_restore_set_mtime(path, e->mtime);
        w->stats.files++;
    }
    return PGB_OK;
}

/* A restore that failed removes the files it was writing in pieces: none of them is whole. */
void pgb_restore_remove_large_files(struct restore_writer *w)
{
    const struct restore_shared *s = w->shared;
    for (size_t k = 0; k < s->item_count; k++) {
        const struct restore_item *item = &s->items[k];
        char path[PATH_MAX];
        if (item->count && item->first == 0 &&
            pgb_restore_target_path(NULL, s->dir, s->options, s->list->entries[item->entry].path, path) == PGB_OK)
            unlink(path);
    }
}
