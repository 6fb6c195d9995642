/*
 * Reading one archived WAL file into a local file: what wal-fetch does for
 * the file recovery asks for, and prefetch for each segment after it.
 * Local failures are PGB_EIO whatever errno says: never PGB_ENOTFOUND, which
 * restore_command reads as "not archived".
 */
#ifndef PGB_WAL_WAL_READ_H
#define PGB_WAL_WAL_READ_H

#include "pipeline/object.h"
#include "repo/repo.h"
#include "wal/wal_file.h"
#include "wal/wal_sum.h"

/* One archived file found: its key and, when it has one, its checksum record. */
struct pgb_wal_archived {
    char name[PGB_WAL_FILE_NAME_MAX + 1];
    char key[PGB_KEY_SIZE];
    int has_sum;
    struct pgb_wal_sum sum;
};

/*
 * Look for name (on timeline, as pgb_wal_file_classify() gives it) in the
 * archive and open it for reading. Errors go to repo's context.
 *
 * @return 0 with *reader open (close it with pgb_object_reader_close());
 *         PGB_ENOTFOUND only when the repository answered and name is not
 *         archived; PGB_ECORRUPT for a checksum record without its object; or
 *         another PGB_E* code
 */
int pgb_wal_archived_open(struct pgb_repo *repo, const char *name, uint32_t timeline, struct pgb_wal_archived *found,
                          pgb_object_reader **reader);

/*
 * Copy the plaintext of reader into destination through a temporary file in
 * the same folder: synced, renamed into place, the folder synced. destination
 * exists only once complete, and is left untouched on failure.
 *
 * @param copied  set to the SHA-256 (authenticated while read) and size of
 *                what was written; may be NULL
 */
int pgb_wal_archived_copy(struct pgb_repo *repo, pgb_object_reader *reader, const struct pgb_wal_archived *found,
                          const char *destination, struct pgb_wal_sum *copied);

/* fsync a folder, so that a rename into it is durable. Returns 0 or PGB_EIO. */
int pgb_wal_sync_folder(pgb_ctx *ctx, const char *folder);

#endif
