/*
 * Writing the content of a physical backup: files arrive one after another as
 * streams; each is cut into chunks of PGB_CHUNK_SIZE bytes (small files are
 * one chunk). Each file's SHA-256 is computed as a chain with a link after
 * every chunk (the one pass over the plaintext); every chunk is compressed
 * into one frame and named by a keyed hash of the frame's SHA-256, and a
 * chunk already stored by this backup or by the parent backup is referenced
 * instead of stored again. That is how an incremental stores only what
 * changed, found by content, never by size and mtime.
 */
#ifndef PGB_REPO_CONTENT_WRITER_H
#define PGB_REPO_CONTENT_WRITER_H

#include <stdint.h>

#include "repo/file_list.h"

#define PGB_CHUNK_SIZE ((size_t)1024 * 1024)
#define PGB_PACK_TARGET_SIZE ((uint64_t)32 * 1024 * 1024)

typedef struct pgb_content_writer pgb_content_writer;

struct pgb_content_stats {
    uint64_t files;
    uint64_t bytes;          /* file bytes seen */
    uint64_t stored_bytes;   /* bytes written to packs */
    uint64_t chunks_new;
    uint64_t chunks_reused;  /* found in this backup or the parent */
};

/* parent: the file list of the backup to reuse chunks from, or NULL for a full backup. */
int pgb_content_writer_new(pgb_content_writer **out, struct pgb_repo *repo, int codec, int level,
                           const struct pgb_file_list *parent);

/*
 * Store new chunks on `threads` threads of their own, with the writer's codec
 * and level (compression, encryption and storage overlap with reading and
 * hashing). Chunks met again while their first copy is still queued are
 * stored twice: rare, and harmless. A storage made of callbacks keeps the
 * calling thread. Call before the first entry.
 */
int pgb_content_writer_use_thread(pgb_content_writer *w, int threads);

/* Begin an entry. For regular files the bytes follow through _data; size is the expected size (informative). */
int pgb_content_writer_begin(pgb_content_writer *w, const char *path, int type, uint32_t mode, int64_t mtime,
                             const char *link);
int pgb_content_writer_data(pgb_content_writer *w, const void *data, size_t size);
int pgb_content_writer_end(pgb_content_writer *w);

/* Commit the last pack. The list is complete only after this. */
int pgb_content_writer_finish(pgb_content_writer *w);

/* The list built so far (owned by the writer) and the counts. */
const struct pgb_file_list *pgb_content_writer_list(const pgb_content_writer *w);
struct pgb_content_stats pgb_content_writer_stats(const pgb_content_writer *w);

/*
 * Move every entry of the writer's list to the end of into (after finish),
 * leaving the writer's list empty: how the lists of writers that ran side by
 * side become one. Returns 0 or PGB_ENOMEM (entries not yet moved stay).
 */
int pgb_content_writer_move_list(pgb_content_writer *w, struct pgb_file_list *into);

void pgb_content_writer_free(pgb_content_writer *w);

#endif
