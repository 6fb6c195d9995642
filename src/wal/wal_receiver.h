/*
 * The WAL receiver (pgb_wal_receiver) as its two files see it: the handle
 * and its public calls (wal_receiver.c), and one replication session, from
 * connecting to a disconnect or a stop (wal_receive_session.c).
 */
#ifndef PGB_WAL_WAL_RECEIVER_H
#define PGB_WAL_WAL_RECEIVER_H

#include <stdatomic.h>
#include <stdint.h>

#include <pgbackup/wal_receive.h>

#include "repo/repo.h"
#include "wal/wal_receive_store.h"

/* Where a session starts when it cannot continue the stream it had. */
enum pgb_wal_receive_origin {
    PGB_WAL_START_REPOSITORY = 0, /* after what the repository holds */
    PGB_WAL_START_SLOT = 1,       /* the slot's restart_lsn */
    PGB_WAL_START_SERVER = 2      /* the server's current segment */
};

struct pgb_wal_receiver {
    uint32_t magic;
    int state; /* RECEIVER_NEW, RECEIVER_RUNNING, RECEIVER_DONE (wal_receiver.c) */
    struct pgb_repo *repo;
    pgb_ctx *ctx;
    char *conninfo;
    char slot[64];
    uint64_t status_interval_ms;
    uint64_t partial_interval_ms;
    struct pgb_object_spec spec;

    /* Read and written from any thread. */
    atomic_int stop;
    _Atomic uint64_t received_lsn;
    _Atomic uint64_t flushed_lsn;
    _Atomic uint32_t timeline;

    /* The running call's own, kept across sessions. */
    char system_identifier[32]; /* of the first connection */
    uint64_t segment_size;
    int streamed;              /* a session reached COPY BOTH: later failures are retried */
    int have_position;         /* write_lsn and stream_timeline continue the segment in store */
    uint64_t write_lsn;        /* the next byte expected */
    uint32_t stream_timeline;
    int origin;                /* enum pgb_wal_receive_origin: where to start without a position */
    uint32_t history_stored;   /* the newest timeline whose history file is known archived */
    struct pgb_wal_store store;
};

/* Whether a stop was asked for, by pgb_wal_receiver_stop() or the context's cancel flag. */
int pgb_wal_receiver_stopping(struct pgb_wal_receiver *r);

/*
 * One session: connect, make the slot if missing, choose the start, stream
 * until stopped or disconnected. Returns 0 after a stop (what was received is
 * stored), or the failure recorded in the context.
 */
int pgb_wal_receive_session(struct pgb_wal_receiver *r);

/*
 * Store what the current segment holds beyond the repository: the whole
 * segment when it is full, else its partial. 0 when nothing is pending.
 */
int pgb_wal_receive_store_pending(struct pgb_wal_receiver *r);

#endif
