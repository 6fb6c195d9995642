/*
 * The physical streaming replication protocol (protocol.sgml, "Streaming
 * Replication Protocol"; postgres-internals.md section 8), shared by the
 * backup's WAL streamer and the WAL receiver: the server's facts, the
 * messages inside COPY BOTH, standby status updates, and ending the copy.
 *
 * Functions without a ctx touch only the connection, so that a worker thread
 * that must not use the context can call them.
 */
#ifndef PGB_PG_REPLICATION_H
#define PGB_PG_REPLICATION_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <pgbackup/common.h>

/* What IDENTIFY_SYSTEM and SHOW wal_segment_size say. */
struct pgb_replication_system {
    char system_identifier[32]; /* decimal */
    uint32_t timeline;
    uint64_t xlogpos; /* the server's flush position when asked */
    uint64_t segment_size;
};

/*
 * PGB_EUNSUPPORTED (recorded, naming what cannot be done) unless the server's
 * major version is 13 to 17, the versions whose protocol this code follows.
 */
int pgb_replication_check_version(pgb_ctx *ctx, PGconn *conn, const char *what);

/* IDENTIFY_SYSTEM, then SHOW wal_segment_size. Returns 0 or PGB_ECONNECTION (recorded). */
int pgb_replication_identify(pgb_ctx *ctx, PGconn *conn, struct pgb_replication_system *out);

/* One CopyData message of the server, parsed. */
struct pgb_replication_message {
    char type;             /* 'w' XLogData or 'k' keepalive */
    uint64_t data_start;   /* 'w': LSN of the first byte of data */
    uint64_t wal_end;      /* the server's WAL end when it sent the message */
    const uint8_t *data;   /* 'w': the WAL bytes, inside the message */
    size_t size;
    int reply_requested;   /* 'k': the server wants a status update at once */
};

/*
 * Parse one message (integers big-endian). Returns 0, or -1 with *problem
 * set to a static text saying what is wrong (short message, unknown type).
 */
int pgb_replication_parse(const char *message, int length, struct pgb_replication_message *out,
                          const char **problem);

/*
 * Send a standby status update 'r': written and flushed (each "last byte +
 * 1"), applied 0 (unknown, as pg_receivewal sends), the time, and no reply
 * wanted. Returns 0, or -1 when the connection failed (PQerrorMessage says why).
 */
int pgb_replication_send_status(PGconn *conn, uint64_t written, uint64_t flushed);

/* "START_REPLICATION [SLOT s] PHYSICAL X/Y TIMELINE n"; slot may be NULL. */
void pgb_replication_start_command(const char *slot, uint64_t start, uint32_t timeline, char *out, size_t size);

/*
 * Wait up to timeout_ms for input on the connection, then read what came.
 * Returns 0 (also when interrupted by a signal or timed out), or -1 when the
 * connection broke (PQerrorMessage says why).
 */
int pgb_replication_wait(PGconn *conn, int timeout_ms);

/*
 * End our side of COPY BOTH with CopyDone and read until the server answers,
 * so that the connection ends its command cleanly; gives up after timeout_ms.
 */
void pgb_replication_end_copy(PGconn *conn, uint64_t timeout_ms);

#endif
