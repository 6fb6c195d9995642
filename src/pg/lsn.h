/*
 * WAL positions (LSNs) and WAL segment names: parsing, formatting and the
 * arithmetic between them, as in PostgreSQL's xlog_internal.h.
 */
#ifndef PGB_PG_LSN_H
#define PGB_PG_LSN_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

/* Room for "FFFFFFFF/FFFFFFFF" and its NUL. */
#define PGB_LSN_TEXT_SIZE 18

/* Room for a 24-digit segment name and its NUL. */
#define PGB_WAL_NAME_SIZE 25

/* The smallest and largest WAL segment sizes initdb accepts (--wal-segsize). */
#define PGB_WAL_SEGMENT_SIZE_MIN (UINT64_C(1) << 20)
#define PGB_WAL_SEGMENT_SIZE_MAX (UINT64_C(1) << 30)

/*
 * Parse an LSN as PostgreSQL prints it, "16/B374D848": two groups of 1 to 8 hex
 * digits (either case) around a '/', nothing else (pg_lsn_in's rules).
 *
 * @param ctx   where to record the error; may be NULL when the caller reports it
 * @param text  the LSN text
 * @param out   set to the position on success
 * @return 0, or PGB_EINVALID naming the text
 */
int pgb_lsn_parse(pgb_ctx *ctx, const char *text, uint64_t *out);

/*
 * Format an LSN the way PostgreSQL 13 to 17 do: "%X/%X", upper-case, no padding.
 * Returns out.
 */
char *pgb_lsn_format(uint64_t lsn, char out[PGB_LSN_TEXT_SIZE]);

/* Whether size is a WAL segment size PostgreSQL can have: a power of two, 1 MiB to 1 GiB. */
int pgb_wal_segment_size_valid(uint64_t size);

/*
 * Parse a segment size as SHOW wal_segment_size prints it ("16MB", "1GB"), or
 * as a plain number of bytes (pg_settings.setting, "16777216").
 *
 * @return 0, or PGB_EINVALID (recorded when ctx is not NULL) for text that is not
 *         a valid segment size
 */
int pgb_wal_segment_size_parse(pgb_ctx *ctx, const char *text, uint64_t *out);

/* The number of the segment holding the byte at lsn: lsn / segment_size. */
uint64_t pgb_wal_segment_number(uint64_t lsn, uint64_t segment_size);

/* The LSN at which segment segno begins. */
uint64_t pgb_wal_segment_start(uint64_t segno, uint64_t segment_size);

/*
 * The segment that holds the last byte before end: what a reader needs to have
 * to reach end (the segment of end - 1). end must be greater than 0.
 */
uint64_t pgb_wal_segment_of_end(uint64_t end, uint64_t segment_size);

/*
 * The file name of a segment: 24 upper-case hex digits, timeline, then segno
 * split into its "log" and "seg" parts (segno / and % (4 GiB / segment_size)).
 * segment_size must be valid. Returns out.
 */
char *pgb_wal_segment_name(uint32_t timeline, uint64_t segno, uint64_t segment_size,
                           char out[PGB_WAL_NAME_SIZE]);

/*
 * Parse a segment file name of exactly 24 hex digits (upper-case, as the server
 * writes them). Fails for a "seg" part that cannot exist at this segment size
 * and for timeline 0.
 *
 * @param timeline  set to the timeline (may be NULL)
 * @param segno     set to the segment number (may be NULL)
 * @return 0, or PGB_EINVALID (recorded when ctx is not NULL)
 */
int pgb_wal_segment_name_parse(pgb_ctx *ctx, const char *name, uint64_t segment_size, uint32_t *timeline,
                               uint64_t *segno);

#endif
