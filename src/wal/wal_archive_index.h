/*
 * What a cluster's WAL archive holds, read from one listing: the segments of
 * each timeline (complete or only partial) and the timeline histories. Restore
 * plans use it to check, before anything is written, that recovery will find
 * every segment it needs.
 */
#ifndef PGB_WAL_WAL_ARCHIVE_INDEX_H
#define PGB_WAL_WAL_ARCHIVE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

/* How a segment is archived. */
enum pgb_archived_state {
    PGB_ARCHIVED_NONE = 0,
    PGB_ARCHIVED_COMPLETE = 1,
    PGB_ARCHIVED_PARTIAL = 2 /* only <segment>.partial: served under the segment's name by wal-fetch */
};

struct pgb_archived_segment {
    uint32_t timeline;
    uint64_t segno;
    int state;
};

struct pgb_wal_archive_index {
    struct pgb_archived_segment *segments; /* sorted by timeline, then segno */
    size_t count;
    uint32_t *histories; /* timelines that have a .history file, sorted */
    size_t history_count;
    uint64_t segment_size;
};

/*
 * List the cluster's archive. Names that are not WAL files' (and checksum
 * records) are ignored.
 *
 * @param segment_size  the cluster's WAL segment size, to read segment names
 * @return 0, or the storage's error
 */
int pgb_wal_archive_index_load(struct pgb_repo *repo, uint64_t segment_size, struct pgb_wal_archive_index *out);

/* How segment segno of timeline is archived: an enum pgb_archived_state. */
int pgb_wal_archive_state(const struct pgb_wal_archive_index *index, uint32_t timeline, uint64_t segno);

/* The highest archived segment of timeline (complete or partial) in *segno; 0 when it has none, else 1. */
int pgb_wal_archive_last(const struct pgb_wal_archive_index *index, uint32_t timeline, uint64_t *segno);

/* Whether timeline has a history file in the archive. */
int pgb_wal_archive_has_history(const struct pgb_wal_archive_index *index, uint32_t timeline);

/*
 * The newest timeline reachable from timeline as recovery_target_timeline =
 * 'latest' finds it: history files probed for timeline + 1, + 2, ... until
 * one is missing.
 */
uint32_t pgb_wal_archive_latest_timeline(const struct pgb_wal_archive_index *index, uint32_t timeline);

/*
 * Read timeline's history file from the archive into a NUL-terminated string
 * (free with free()).
 * @return 0, PGB_ENOTFOUND, PGB_ECORRUPT, PGB_EAUTH or another PGB_E* code
 */
int pgb_wal_archive_read_history(struct pgb_repo *repo, uint32_t timeline, char **text);

void pgb_wal_archive_index_clear(struct pgb_wal_archive_index *index);

#endif
