/*
 * What restore/file_restore.c and restore/file_pieces.c share: the work
 * items, the state of the writers, and the helpers both use. Private to them.
 */
#ifndef PGB_RESTORE_RESTORE_WRITER_H
#define PGB_RESTORE_RESTORE_WRITER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include <pgbackup/ctx.h>

#include "pipeline/chunk_decompress.h"
#include "repo/file_list.h"
#include "restore/file_restore.h"

/*
 * Chunks of a large file with links (format 2) are written in pieces by any
 * worker (each chunk checked on its own against the file's chain); a file
 * without links is written whole, its SHA-256 checked at the end.
 */
enum { PIECE_CHUNKS = 4 };

/* Written last, once every other file is: a half-written restore can never start as a cluster. */
#define PGB_RESTORE_PG_CONTROL "global/pg_control"

struct restore_item {
    size_t entry;
    size_t first, count; /* chunks [first, first + count) of a piece; count 0: the whole file */
    uint64_t bytes;
};

/* What the writers share; workers touch only the atomics. */
struct restore_shared {
    const pgb_ctx *caller; /* the calling thread's: workers read only its cancel flag */
    const struct pgb_file_list *list;
    const char *dir;
    const struct pgb_file_restore_options *options;
    struct restore_item *items; /* the regular files but pg_control, or pieces of them; biggest first */
    size_t item_count;
    atomic_size_t next;
    atomic_int stop; /* a writer failed: the others end too */
};

/* One writer: the calling thread with the caller's repository, or a worker with its view. */
struct restore_writer {
    struct restore_shared *shared;
    struct pgb_repo *repo;
    struct pgb_file_restore_stats stats;
    /* For chunks read whole: made at the first one, kept to the writer's end. */
    uint8_t *chunk_buffer; /* PGB_CHUNK_SIZE + 1 bytes */
    pgb_chunk_decompressor *decompressor;
};

int pgb_restore_check_canceled(struct restore_writer *w);
/* PGB_EIO "cannot <what> <path>: <errno text>". */
int pgb_restore_io_error(pgb_ctx *ctx, const char *what, const char *path);
/* The path on disk of an entry: tablespace content goes to its (mapped) location. */
int pgb_restore_target_path(pgb_ctx *ctx, const char *dir, const struct pgb_file_restore_options *o, const char *path,
                            char out[PATH_MAX]);
int pgb_restore_make_parents(pgb_ctx *ctx, const char *path);
void pgb_restore_set_mtime(const char *path, int64_t mtime);

/* Start writing [offset, offset + size) of fd to disk now, without waiting. */
void pgb_restore_start_writeback(int fd, uint64_t offset, uint64_t size);
/* Write chunks [first, first + count) of a chained file into fd, each checked before it is written. */
int pgb_restore_write_piece(struct restore_writer *w, const struct pgb_file_entry *e, size_t first, size_t count,
                            int fd, const char *path);
/* Restore one piece item (count > 0) of a file made by pgb_restore_make_large_files. */
int pgb_restore_piece(struct restore_writer *w, const struct restore_item *item);
/* The writer's chunk buffer and decoder, freed at its end. */
void pgb_restore_writer_release(struct restore_writer *w);

/* The work: one item per regular file but pg_control (*control), or one per piece of a large chained file. */
int pgb_restore_plan_items(pgb_ctx *ctx, const struct pgb_file_list *list, const struct pgb_file_restore_options *o,
                           struct restore_shared *shared, const struct pgb_file_entry **control);
int pgb_restore_make_large_files(struct restore_writer *w);
int pgb_restore_finish_large_files(struct restore_writer *w);
void pgb_restore_remove_large_files(struct restore_writer *w);

#endif
