/*
 * The files PostgreSQL archives (postgres-internals.md, sections 7 and 9):
 * what kind a name is, whether a file is a real WAL segment, and where each
 * lives in a repository ("clusters/<c>/wal/<TTTTTTTT>/<name>").
 */
#ifndef PGB_WAL_WAL_FILE_H
#define PGB_WAL_WAL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

#include "repo/repo.h"

/* What an archived file is, by its name. */
enum pgb_wal_file_kind {
    PGB_WAL_FILE_SEGMENT = 1,        /* 000000010000000A000000FF */
    PGB_WAL_FILE_HISTORY = 2,        /* 00000002.history: a timeline's ancestry */
    PGB_WAL_FILE_BACKUP_HISTORY = 3, /* 000000010000000A000000FF.00000028.backup */
    PGB_WAL_FILE_PARTIAL = 4         /* 000000010000000A000000FF.partial: an incomplete segment */
};

/* The longest name PostgreSQL gives an archived file (MAX_XFN_CHARS in pgarch.c). */
enum { PGB_WAL_FILE_NAME_MAX = 64 };

/* Size of the long page header that begins every segment (XLogLongPageHeaderData). */
enum { PGB_WAL_LONG_HEADER_SIZE = 40 };

/*
 * Classify an archived file's name, which must be a bare name (no folder):
 * a segment, a timeline history, a backup history or a partial segment,
 * upper-case hex as the server writes them, timeline not 0.
 *
 * @param what      how messages name the file (its path), or NULL for name
 * @param kind      set to an enum pgb_wal_file_kind
 * @param timeline  set to the timeline in the name (for a history file, the
 *                  timeline it describes); may be NULL
 * @return 0, or PGB_EINVALID saying what is wrong with the name
 */
int pgb_wal_file_classify(pgb_ctx *ctx, const char *what, const char *name, int *kind, uint32_t *timeline);

/* "segment", "timeline history file", "backup history file", "partial segment". */
const char *pgb_wal_file_kind_name(int kind);

/*
 * Check that a file named as a segment is one: header holds the file's first
 * bytes (at least PGB_WAL_LONG_HEADER_SIZE, else it is too short), file_size
 * its size. The long page header must carry a known PostgreSQL WAL magic
 * (13 to 17), the long-header flag, a segment size that is a power of two
 * from 1 MiB to 1 GiB and equal to file_size, and xlp_pageaddr = segno x
 * segment size for the segment number of name. The timeline in the header is
 * not compared with the name's: the first segment of a new timeline begins
 * with its parent's pages.
 *
 * For a partial segment (name ends in ".partial") a first page that is all
 * zeros is accepted when the size is a valid segment size: pg_receivewal
 * creates its current file zero-filled before the first byte arrives.
 *
 * @param what  how messages name the file (its path)
 * @return 0, or PGB_ECORRUPT naming the file and what is wrong
 */
int pgb_wal_segment_check(pgb_ctx *ctx, const char *what, const char *name, const uint8_t *header,
                          size_t header_size, uint64_t file_size);

/*
 * The key of an archived file: "<cluster dir>/wal/<TTTTTTTT>/<name>", with the
 * timeline from pgb_wal_file_classify().
 */
void pgb_wal_archive_key(const struct pgb_repo *repo, const char *name, uint32_t timeline,
                         char out[PGB_KEY_SIZE]);

/* The key of the checksum record beside an archived file: "<key>.sum". */
void pgb_wal_sum_key(const char *key, char out[PGB_KEY_SIZE]);

/*
 * Fail unless the repository has an entry for its cluster: WAL archived or
 * fetched under a misspelt cluster name would be lost or, worse, look absent
 * to recovery. PGB_EINVALID (never PGB_ENOTFOUND) when there is no entry.
 */
int pgb_wal_check_cluster(struct pgb_repo *repo);

#endif
