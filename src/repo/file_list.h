/*
 * The file list of a physical backup: every file, folder and link of the
 * cluster with its size, mode, mtime, SHA-256 and, for files, the chunks that
 * hold its bytes (which may live in packs of earlier backups). Each backup's
 * list is complete on its own: restoring an incremental is as simple as a full.
 * Sealed with the writer key: the writing host reads its last list back to
 * find chunks it stored already.
 */
#ifndef PGB_REPO_FILE_LIST_H
#define PGB_REPO_FILE_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/content_id.h"
#include "repo/pack.h"
#include "repo/repo.h"

enum pgb_file_type { PGB_FILE_REGULAR = 0, PGB_FILE_DIRECTORY = 1, PGB_FILE_SYMLINK = 2 };

struct pgb_stored_chunk {
    /* Keyed hash of the SHA-256 of the chunk's compressed frame (format 1: of its bytes): finds it again. */
    char id[PGB_CONTENT_ID_SIZE];
    struct pgb_chunk_ref ref;
    /* The file's SHA-256 chain after this chunk (pipeline/sha256_chain.h); for its last chunk, the file's SHA-256. */
    uint8_t link[32];
};

struct pgb_file_entry {
    char *path;
    int type;
    uint32_t mode;
    uint64_t size;
    int64_t mtime;
    uint8_t sha256[32]; /* regular files */
    int chained;        /* its chunks carry links (format 2); else each chunk's ref.sha256 (format 1) */
    char *link;         /* symlinks */
    struct pgb_stored_chunk *chunks;
    size_t chunk_count;
};

struct pgb_file_list {
    struct pgb_file_entry *entries;
    size_t count, capacity;
};

/* Append an entry; the list takes ownership of the entry's allocations. */
int pgb_file_list_append(pgb_ctx *ctx, struct pgb_file_list *list, struct pgb_file_entry *entry);

void pgb_file_entry_clear(struct pgb_file_entry *entry);
void pgb_file_list_clear(struct pgb_file_list *list);

/* Store the list of backup id (content/<id>/files); *stored_size gets its size in storage. */
int pgb_file_list_store(struct pgb_repo *repo, const char *backup_id, const struct pgb_file_list *list,
                        uint64_t *stored_size);

/* Load the list of backup id. */
int pgb_file_list_load(struct pgb_repo *repo, const char *backup_id, struct pgb_file_list *list);

/* "<cluster>/content/<id>/<name>": where a backup's own objects live. */
void pgb_backup_content_key(const struct pgb_repo *repo, const char *backup_id, const char *name,
                            char out[PGB_KEY_SIZE]);

#endif
