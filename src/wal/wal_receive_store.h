/*
 * Where a WAL receiver keeps what it receives: the segment being received,
 * in an unlinked temporary file, and its copies in the repository's WAL
 * archive (doc/repository-format.md): a complete segment stored once, as
 * pgb_wal_push() stores it; the unfinished one as <segment>.partial,
 * zero-padded to the segment size and replaced as it grows, its checksum
 * record saying where the received WAL ends; timeline history files.
 *
 * "durable" is the position below which the segment's WAL is in the
 * repository: the most a receiver may report to the server as flushed.
 */
#ifndef PGB_WAL_WAL_RECEIVE_STORE_H
#define PGB_WAL_WAL_RECEIVE_STORE_H

#include <stdint.h>

#include "pipeline/object.h"
#include "repo/repo.h"

/* Whose the partial of the current segment in the repository is. */
enum pgb_wal_partial_owner {
    PGB_WAL_PARTIAL_UNKNOWN = 0, /* not looked at yet */
    PGB_WAL_PARTIAL_RECEIVER = 1, /* none, or a receiver's: ours to replace */
    PGB_WAL_PARTIAL_ARCHIVED = 2  /* pushed by archive_command (a promotion's): kept as it is */
};

struct pgb_wal_store {
    struct pgb_repo *repo;
    struct pgb_object_spec spec; /* codec and level; flags are chosen per object */
    uint64_t segment_size;
    int fd;          /* the temporary file, or -1 */
    uint8_t *buffer; /* copy buffer */

    /* The current segment. */
    int active;
    uint32_t timeline;
    uint64_t segno;
    uint64_t filled;     /* bytes received from the segment's start */
    int completed;       /* stored as a complete segment */
    int partial_owner;   /* enum pgb_wal_partial_owner */
    uint64_t partial_end; /* the stored partial ends here (LSN); 0 when there is none */
    uint64_t durable;
};

/* Make the temporary file (in $TMPDIR, else /tmp). Errors go to repo's context. */
int pgb_wal_store_open(struct pgb_wal_store *st, struct pgb_repo *repo, const struct pgb_object_spec *spec,
                       uint64_t segment_size);
void pgb_wal_store_close(struct pgb_wal_store *st);

/*
 * Begin segment segno of timeline, empty. partial_end: where a receiver's
 * partial of it in the repository ends, when known (else 0): it is never
 * replaced by a shorter one, and WAL below it counts as durable.
 */
void pgb_wal_store_begin(struct pgb_wal_store *st, uint32_t timeline, uint64_t segno, uint64_t partial_end);

/* Append WAL to the current segment; it must fit. PGB_EIO naming the temporary file. */
int pgb_wal_store_append(struct pgb_wal_store *st, const uint8_t *data, size_t size);

/*
 * Store the full current segment (never replacing an object; an identical
 * copy there already is fine), then remove the receiver's partial of it.
 * PGB_EEXISTS when the archive holds a different segment under its name.
 */
int pgb_wal_store_complete(struct pgb_wal_store *st);

/*
 * Store the current segment's WAL as its partial, unless the repository has
 * as much already or the partial there is archive_command's.
 */
int pgb_wal_store_partial(struct pgb_wal_store *st);

/*
 * Store a timeline history file (TTTTTTTT.history) as pgb_wal_push() would;
 * an identical one there already is fine, a different one PGB_EEXISTS.
 */
int pgb_wal_store_history(struct pgb_wal_store *st, const char *name, const void *content, size_t size);

/* Whether the history file of timeline is in the repository. */
int pgb_wal_store_has_history(struct pgb_wal_store *st, uint32_t timeline);

#endif
