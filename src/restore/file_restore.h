/*
 * Writing a backup's files into a directory from the repository.
 */
#ifndef PGB_RESTORE_FILE_RESTORE_H
#define PGB_RESTORE_FILE_RESTORE_H

#include <stdint.h>

#include "repo/file_list.h"

/* Where tablespace content goes: pg_tblspc/<oid>/... is written under location. */
struct pgb_tablespace_target {
    uint32_t oid;
    const char *location;
};

struct pgb_file_restore_options {
    int delta; /* reuse files already present whose SHA-256 matches */
    const struct pgb_tablespace_target *tablespaces;
    size_t tablespace_count;
    int workers; /* threads writing regular files ("jobs"); 0 or 1: the calling thread alone */
    /* Called once every file but global/pg_control is written (may be NULL): a failure there leaves no pg_control. */
    int (*before_control)(void *payload);
    void *before_control_payload;
};

struct pgb_file_restore_stats {
    uint64_t files, bytes, files_reused;
};

/*
 * Write every entry of list under dir, with modes and mtimes, every file
 * checked against its SHA-256. Folders and links are made on the calling
 * thread; regular files are then written whole, biggest first, by
 * options->workers threads (fewer for a storage made of callbacks), each with
 * its own context, storage handle and repository view. The cancel flag of
 * repo's context stops them; the first failure, naming the file, is recorded
 * in repo's context. global/pg_control is written last, on the calling
 * thread, once every other file is written, so that a directory left
 * half-written by a failure can never start as a cluster.
 */
int pgb_restore_files(struct pgb_repo *repo, const struct pgb_file_list *list, const char *dir,
                      const struct pgb_file_restore_options *options, struct pgb_file_restore_stats *stats);

#endif
