/*
 * Reading a physical backup back for verify (restore/verify_backup.c turns
 * what was read into findings): every WAL segment the manifest needs, every
 * chunk of a chained file on its own, every other regular file whole, on
 * jobs workers each with its own context, storage handle and repository view.
 */
#ifndef PGB_RESTORE_VERIFY_READ_H
#define PGB_RESTORE_VERIFY_READ_H

#include <stddef.h>
#include <stdint.h>

#include "repo/file_list.h"
#include "repo/repo.h"

#define PGB_VERIFY_WHOLE_FILE SIZE_MAX /* item.chunk of a file read whole */
#define PGB_VERIFY_WAL_ITEM SIZE_MAX   /* item.entry of a WAL segment; item.chunk is its index */

/* A WAL segment the manifest's ranges need. */
struct pgb_verify_wal_segment {
    char path[64]; /* pg_wal/<name>, as findings name it */
    char key[PGB_KEY_SIZE];
};

/* One piece of work: a chunk of a chained file, a whole file, or a WAL segment. */
struct pgb_verify_item {
    size_t entry, chunk;
};

/* What reading one item found, recorded by whichever thread read it. */
struct pgb_verify_outcome {
    int read;           /* PGB_OK, or why the bytes could not be read back or did not match */
    uint8_t digest[32]; /* whole files: of what came back, when read is PGB_OK */
    uint64_t size;      /* WAL segments: bytes read back */
    char *why;          /* the failure's message, when read is not PGB_OK */
};

/* What a file's items add up to. */
struct pgb_verify_file_outcome {
    int read;
    uint8_t digest[32]; /* what its content proved to be */
    const char *why;    /* owned by the reading */
};

/*
 * Items in the order they were read: WAL segments (by position), whole files
 * (biggest first), then chunks (by entry and chunk); starts[entry] is an
 * entry's first item (SIZE_MAX: none).
 */
struct pgb_verify_reading {
    struct pgb_verify_item *items;
    struct pgb_verify_outcome *outcomes;
    size_t count;
    size_t *starts;
};

/*
 * Read everything of list and wal into *out (cleared first; clear it after,
 * also on failure). Fails only for running out of memory, cancellation or a
 * worker that could not start; damage is an outcome.
 */
int pgb_verify_read(struct pgb_repo *repo, const struct pgb_file_list *list, const struct pgb_verify_wal_segment *wal,
                    size_t wal_count, int jobs, struct pgb_verify_reading *out);

/*
 * The outcome of regular file entry (index in the list): its first failing
 * item (lowest chunk) speaks for it; a chained file whose every chunk matched
 * its links has exactly the SHA-256 its entry records.
 */
void pgb_verify_file_outcome(const struct pgb_verify_reading *r, const struct pgb_file_entry *e, size_t entry,
                             struct pgb_verify_file_outcome *o);

void pgb_verify_reading_clear(struct pgb_verify_reading *r);

#endif
