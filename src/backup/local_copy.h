/*
 * Copying the files of a data directory into a backup's content with parallel
 * workers, checking data page checksums on the way as BASE_BACKUP does
 * (basebackup.c, sendFile).
 *
 * A pgb_ctx is single-threaded, so each worker has its own context, storage
 * handle (the repository's storage opened again by its URL), repository view
 * and content writer, and reads the shared list of files. The calling thread
 * keeps a writer of its own (folders, links, the files copied after the rest),
 * reports progress, logs, and merges the workers' lists, counts and findings.
 * With one worker, or a storage made of callbacks (whose payload serves one
 * handle), everything is copied on the calling thread.
 */
#ifndef PGB_BACKUP_LOCAL_COPY_H
#define PGB_BACKUP_LOCAL_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "backup/data_dir.h"
#include "core/progress.h"
#include "repo/content_writer.h"
#include "repo/file_list.h"

/* A data page that failed its checksum, read twice. */
struct pgb_bad_page {
    char *path;     /* in the backup: "base/5/16384", "base/5/16384.1" */
    uint64_t block; /* relation-wide: segment * blocks per segment + block in the file */
};

struct pgb_local_copy_options {
    int workers;                        /* 1 to 256 */
    int codec, level;                   /* compression of the chunks */
    const struct pgb_file_list *parent; /* chunks to reuse (an incremental), or NULL */
    int verify_pages;                   /* the cluster has data checksums */
    uint32_t blocks_per_segment;        /* RELSEG_SIZE: 131072 for 1 GiB of 8 KiB pages */
};

typedef struct pgb_local_copy pgb_local_copy;

/*
 * Prepare the writers (and the workers' handles) for repo; nothing is copied
 * yet. Errors go to repo's context. Free with pgb_local_copy_free.
 */
int pgb_local_copy_new(pgb_local_copy **out, struct pgb_repo *repo, const struct pgb_local_copy_options *opts);

/* How many workers copy (fewer than asked for a storage made of callbacks). */
int pgb_local_copy_workers(const pgb_local_copy *c);

/*
 * Record the folders and links of tree, then copy its files but the last
 * entry (global/pg_control, which pgb_local_copy_file copies afterwards),
 * biggest first. Pages changed since start_lsn (the backup's start: pd_lsn
 * at or after it) may be torn and are not checked; WAL replay rewrites them.
 * progress (phase "copy", totals set by the caller) is reported
 * on the calling thread; a report that asks to stop, the cancel flag of the
 * repository's context or a worker's failure stops every worker, and the
 * first failure is recorded in the repository's context. A file removed since
 * the walk is left out; a file that changes is recorded as read.
 */
int pgb_local_copy_tree(pgb_local_copy *c, const struct pgb_data_dir *tree, uint64_t start_lsn,
                        struct pgb_progress *progress);

/* Copy one more file on the calling thread, without page checks (pg_control, last). */
int pgb_local_copy_file(pgb_local_copy *c, const struct pgb_data_dir_entry *entry);

/* Add a regular file from memory (backup_label), dated now. */
int pgb_local_copy_add(pgb_local_copy *c, const char *path, uint32_t mode, const void *data, size_t size);

/* Bytes copied so far (all workers). */
uint64_t pgb_local_copy_bytes(const pgb_local_copy *c);

/*
 * The pages that failed their checksum, sorted by path and block, after
 * pgb_local_copy_tree; owned by c.
 */
int pgb_local_copy_bad_pages(pgb_local_copy *c, const struct pgb_bad_page **pages, size_t *count);

/*
 * Commit the last packs, move every entry into files (in path order) and sum
 * the writers' counts into *stats.
 */
int pgb_local_copy_finish(pgb_local_copy *c, struct pgb_file_list *files, struct pgb_content_stats *stats);

/* Free c and the workers' handles (uncommitted packs are dropped). NULL is fine. */
void pgb_local_copy_free(pgb_local_copy *c);

#endif
