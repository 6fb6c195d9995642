/*
 * libpgbackup: receiving WAL continuously (pgbackup wal-receive).
 *
 * A receiver streams WAL from PostgreSQL over a replication connection
 * (START_REPLICATION on a permanent physical slot, made if missing) and
 * writes it into the repository's WAL archive as it arrives: each complete
 * segment exactly as pgb_wal_push() stores it, so a receiver and
 * archive_command may run together, and the unfinished segment as
 * <segment>.partial (full size, zeros after the WAL received), replaced as
 * more arrives and removed once the segment is complete. pgb_wal_fetch()
 * serves the partial when the segment itself is not archived, so recovery
 * replays up to the last byte received.
 *
 * The receiver tells the server as flushed only WAL that is durable in the
 * repository. With synchronous_standby_names naming the receiver (its
 * application_name: the slot name unless the conninfo sets another) and
 * synchronous_commit on, a commit returns only once its WAL is in the
 * repository: a recovery point objective of about zero. Commits then wait
 * while the receiver is down.
 */
#ifndef PGBACKUP_WAL_RECEIVE_H
#define PGBACKUP_WAL_RECEIVE_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_wal_receiver_new() and the functions below are available. */
#define PGB_HAS_WAL_RECEIVE 1

/** A WAL receiver. */
typedef struct pgb_wal_receiver pgb_wal_receiver;

/**
 * Make a receiver; nothing connects yet.
 *
 * Options: "pg" (libpq conninfo of the server to stream from), "slot"
 * (default pgbackup_<cluster>, lower case, other characters as "_"),
 * "status-interval" (seconds between status updates to the server, default
 * 10), "partial-interval" (milliseconds: the partial segment is stored at
 * most this often while WAL keeps arriving, and at once when the stream
 * pauses after that long; default 1000, 0 stores it whenever the stream
 * pauses), "compress" (default zstd:3).
 *
 * @param out   set to the receiver; free it with pgb_wal_receiver_free()
 * @param repo  an open repository with a key that can write; used by the
 *              receiver during pgb_wal_receiver_run(), and must outlive it
 * @param opts  options, read now; NULL for the defaults
 * @return 0; PGB_EINVALID for a bad option, a slot name PostgreSQL would
 *         refuse, or a cluster the repository lacks; PGB_ENOMEM
 */
PGB_EXTERN int pgb_wal_receiver_new(pgb_wal_receiver **out, pgb_repo *repo, const pgb_options *opts);

/**
 * Receive WAL until pgb_wal_receiver_stop() is called.
 *
 * Connects, creates the slot if it is missing, and starts after the end of
 * what the repository holds for the cluster (the newest complete segment or
 * the receiver's partial), on that timeline; when the server no longer has
 * that WAL, from the slot's position, else from the server's current
 * segment, with a warning naming the gap. Follows timeline switches: stores
 * the new timeline's history file and keeps the old timeline's last segment
 * as a partial. After a disconnect it reconnects, waiting 1 s, then twice as
 * long each time up to 30 s, and resumes where it stopped. Progress goes to
 * the context's log callback (a line per stored segment, at info level).
 *
 * When stopped, it stores what it received, tells the server, and ends the
 * replication before returning.
 *
 * @param receiver  a receiver that has not run yet
 * @return 0 after a stop; PGB_ECANCELED when the context's cancel flag
 *         stopped it (also after storing what it received); when the first
 *         connection fails, PGB_ECONNECTION; PGB_EUNSUPPORTED for a server
 *         older than 13 or newer than 17; PGB_EREFUSED when the server turns
 *         out to be another cluster (system identifier) than at the first
 *         connection; PGB_EEXISTS when the repository holds a different
 *         segment or history file under a name the server sends; PGB_EINVALID
 *         for a receiver that ran already or a logical slot of that name; or
 *         another PGB_E* code, with details in pgb_ctx_errmsg() of the
 *         repository's context. Disconnects and failed repository writes
 *         are retried, not returned (each is logged as a warning).
 *
 * Thread-safety: the repository and its context are used by this call until
 * it returns; stop and the position accessors may be called meanwhile from
 * any thread.
 */
PGB_EXTERN int pgb_wal_receiver_run(pgb_wal_receiver *receiver);

/**
 * Ask a running receiver to stop; returns at once. A receiver stopped before
 * it runs returns from pgb_wal_receiver_run() at once.
 *
 * Thread-safety: may be called from any thread, and from a signal handler
 * (it only sets a flag).
 *
 * @return 0, or PGB_EINVALID when receiver is not a receiver
 */
PGB_EXTERN int pgb_wal_receiver_stop(pgb_wal_receiver *receiver);

/**
 * The WAL position up to which WAL has been received ("last byte + 1"), 0
 * before any. Thread-safe.
 */
PGB_EXTERN uint64_t pgb_wal_receiver_received_lsn(const pgb_wal_receiver *receiver);

/**
 * The WAL position up to which received WAL is durable in the repository,
 * as complete segments and the partial segment; the flush position told to
 * the server never passes it. 0 before any. Thread-safe.
 */
PGB_EXTERN uint64_t pgb_wal_receiver_flushed_lsn(const pgb_wal_receiver *receiver);

/** The timeline being received, 0 before the first connection. Thread-safe. */
PGB_EXTERN uint32_t pgb_wal_receiver_timeline(const pgb_wal_receiver *receiver);

/** The replication slot's name; owned by the receiver. */
PGB_EXTERN const char *pgb_wal_receiver_slot(const pgb_wal_receiver *receiver);

/** Free a receiver (NULL is allowed); it must not be running. */
PGB_EXTERN void pgb_wal_receiver_free(pgb_wal_receiver *receiver);

PGB_END_DECLS

#endif /* PGBACKUP_WAL_RECEIVE_H */
