/*
 * Receiving the WAL a base backup needs, on a second replication connection,
 * in a thread of its own (as pg_basebackup -X stream does).
 *
 * Sequence: pgb_wal_streamer_open (before BASE_BACKUP, so that a slot holds the
 * WAL from then on), pgb_wal_streamer_start with the backup's start position,
 * pgb_wal_streamer_finish with its end position, pgb_wal_streamer_free.
 *
 * The streamer is made from a context and used by that context's thread; its
 * worker thread never touches the context.
 */
#ifndef PGB_PG_WAL_STREAMER_H
#define PGB_PG_WAL_STREAMER_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

typedef struct pgb_wal_streamer pgb_wal_streamer;

/*
 * Connect with replication=true, IDENTIFY_SYSTEM, read the segment size, and
 * create a temporary physical slot that reserves WAL from now on (it goes away
 * with the connection).
 *
 * @param conninfo   as for pgb_pg_connect
 * @param spool_dir  an existing private directory; segments are written there
 * @param out        set to the streamer; free with pgb_wal_streamer_free
 * @return 0, PGB_ECONNECTION (server's message in the detail), PGB_EUNSUPPORTED
 *         (server major outside 13 to 17), PGB_ENOTFOUND (no spool_dir), PGB_ENOMEM
 */
int pgb_wal_streamer_open(pgb_ctx *ctx, const char *conninfo, const char *spool_dir, pgb_wal_streamer **out);

/*
 * Start the thread: START_REPLICATION SLOT ... PHYSICAL <start of the segment
 * holding start_lsn> TIMELINE tli. Each segment is written as
 * <spool>/<name>.partial and renamed to <name> once complete (file and
 * directory fsynced). Standby status replies report as flushed only fsynced
 * WAL, at least every 10 s and whenever the server asks. Errors of the thread
 * are kept and reported by pgb_wal_streamer_finish.
 *
 * @return 0, or PGB_EINVALID (started twice, tli 0), PGB_ERROR (no thread)
 */
int pgb_wal_streamer_start(pgb_wal_streamer *s, uint64_t start_lsn, uint32_t tli);

/*
 * Wait until the WAL below end_lsn is written, then stop the thread, end the
 * replication, drop the slot and close the connection.
 *
 * The segment holding end_lsn - 1 is normally still incomplete (the server
 * has not filled it yet). Recovery of the backup reads that segment only up to
 * end_lsn, so it is written, as pg_basebackup does, with the bytes received
 * and zeros up to the segment size, under its final name; see
 * pgb_wal_streamer_last_segment_padded. Such a padded segment belongs with
 * this backup only: it must never stand in for the real segment in a WAL
 * archive, where recovery past end_lsn would stop at its zeros.
 * Segments received beyond that one are removed from the spool.
 *
 * Waiting fails when no WAL arrives for the timeout (5 minutes by default) or
 * when the context's cancel flag is set.
 *
 * @param segment_names  set to the names of the segments now in the spool, from
 *                       the start segment to the segment of end_lsn - 1, in order;
 *                       the array and strings belong to the streamer, valid until
 *                       pgb_wal_streamer_free
 * @return 0; the thread's error (PGB_ECONNECTION with the server's message,
 *         PGB_EIO naming the file, PGB_ECORRUPT for an out-of-order stream);
 *         PGB_ECONNECTION on timeout; PGB_ECANCELED; PGB_EINVALID (not started,
 *         finished twice, end_lsn before the start)
 */
int pgb_wal_streamer_finish(pgb_wal_streamer *s, uint64_t end_lsn, const char *const **segment_names,
                            size_t *segment_count);

/*
 * Stop the thread if it runs, close the connection (dropping the slot), free s.
 * Files already in the spool stay there: the spool belongs to the caller. NULL is fine.
 */
void pgb_wal_streamer_free(pgb_wal_streamer *s);

/* Give up in pgb_wal_streamer_finish after this long without new WAL (default 300000 ms). */
void pgb_wal_streamer_set_timeout(pgb_wal_streamer *s, uint64_t timeout_ms);

/* The server's WAL segment size in bytes (SHOW wal_segment_size). */
uint64_t pgb_wal_streamer_segment_size(const pgb_wal_streamer *s);

/* The server's system identifier, decimal, from IDENTIFY_SYSTEM; owned by s. */
const char *pgb_wal_streamer_system_identifier(const pgb_wal_streamer *s);

/* The server's timeline when the streamer connected, from IDENTIFY_SYSTEM. */
uint32_t pgb_wal_streamer_timeline(const pgb_wal_streamer *s);

/* The name of the temporary slot; owned by s. */
const char *pgb_wal_streamer_slot_name(const pgb_wal_streamer *s);

/* After a successful finish: 1 when the last segment was padded with zeros, else 0. */
int pgb_wal_streamer_last_segment_padded(const pgb_wal_streamer *s);

#endif
