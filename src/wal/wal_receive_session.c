/*
 * One replication session of the WAL receiver (postgres-internals.md section
 * 8; pg_receivewal's receivelog.c is the model): IDENTIFY_SYSTEM, the slot,
 * TIMELINE_HISTORY of timelines above 1, START_REPLICATION, then WAL into
 * the store until a stop, a disconnect or the end of a timeline, which is
 * followed onto the next one within the session.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/replication.h"
#include "wal/wal_receive_scan.h"
#include "wal/wal_receiver.h"

enum {
    POLL_MS = 100,
    END_COPY_MS = 10000,
    SLOT_BUSY_ATTEMPTS = 20 /* a walsender of our last session may still hold the slot for a moment */
};

/* SQLSTATEs the session tells apart (errcodes.txt). */
#define SQLSTATE_DUPLICATE_OBJECT "42710" /* the slot exists */
#define SQLSTATE_OBJECT_IN_USE "55006"    /* the slot is active for another walsender */
#define SQLSTATE_UNDEFINED_FILE "58P01"   /* "requested WAL segment ... has already been removed" */

struct session {
    struct pgb_wal_receiver *r;
    pgb_ctx *ctx;
    PGconn *conn;
    struct pgb_replication_system system;
    uint64_t slot_restart_lsn; /* 0 when unknown */
    uint32_t slot_restart_timeline;
    uint64_t received_here;    /* bytes received in this session */
    uint64_t last_status_ms;
    uint64_t last_partial_ms;
};

static int server_error(struct session *s, const PGresult *res, const char *message)
{
    pgb_error_set(s->ctx, PGB_ECONNECTION, "%s", message);
    pgb_error_set_detail(s->ctx, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
    return PGB_ECONNECTION;
}

static int has_sqlstate(const PGresult *res, const char *sqlstate)
{
    const char *got = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return got && strcmp(got, sqlstate) == 0;
}

/* ---- positions ---- */

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Make the positions visible to other threads; both only ever grow. */
static void publish(struct session *s)
{
    struct pgb_wal_receiver *r = s->r;
    uint64_t flushed = max64(atomic_load(&r->flushed_lsn), r->store.durable);
    atomic_store(&r->flushed_lsn, flushed);
    atomic_store(&r->received_lsn, max64(atomic_load(&r->received_lsn), max64(r->write_lsn, flushed)));
}

/* Flushed is what the repository holds, never more than written: with a slot the server may remove WAL below it. */
static int send_status(struct session *s)
{
    struct pgb_wal_receiver *r = s->r;
    uint64_t flushed = r->store.durable < r->write_lsn ? r->store.durable : r->write_lsn;
    if (pgb_replication_send_status(s->conn, r->write_lsn, flushed) != 0)
        return server_error(s, NULL, "cannot send a status update to PostgreSQL");
    s->last_status_ms = pgb_monotonic_ms();
    return PGB_OK;
}

int pgb_wal_receive_store_pending(struct pgb_wal_receiver *r)
{
    struct pgb_wal_store *st = &r->store;
    if (!st->active || st->completed)
        return PGB_OK;
    return st->filled == st->segment_size ? pgb_wal_store_complete(st) : pgb_wal_store_partial(st);
}

/* Store what is pending and tell the server at once: a synchronous commit may be waiting for it. */
static int store_and_report(struct session *s)
{
    int rc = pgb_wal_receive_store_pending(s->r);
    s->last_partial_ms = pgb_monotonic_ms();
    if (rc != PGB_OK)
        return rc;
    publish(s);
    return send_status(s);
}

/* ---- connection, slot, history ---- */

static int connect_server(struct session *s)
{
    struct pgb_wal_receiver *r = s->r;
    int rc = pgb_pg_connect_named(s->ctx, r->conninfo, PGB_PG_REPLICATION, r->slot, &s->conn);
    if (rc == PGB_OK)
        rc = pgb_replication_check_version(s->ctx, s->conn, "receive WAL");
    if (rc == PGB_OK)
        rc = pgb_replication_identify(s->ctx, s->conn, &s->system);
    if (rc != PGB_OK)
        return rc;
    if (!r->system_identifier[0]) {
        snprintf(r->system_identifier, sizeof(r->system_identifier), "%s", s->system.system_identifier);
    } else if (strcmp(r->system_identifier, s->system.system_identifier) != 0) {
        return pgb_error_set(s->ctx, PGB_EREFUSED, "the server is now another cluster (system identifier %s) than "
                             "the one this receiver streamed from (%s): its WAL does not belong in this archive",
                             s->system.system_identifier, r->system_identifier);
    }
    if (!r->segment_size) {
        r->segment_size = s->system.segment_size;
        return pgb_wal_store_open(&r->store, r->repo, &r->spec, r->segment_size);
    }
    if (r->segment_size != s->system.segment_size)
        return pgb_error_set(s->ctx, PGB_EREFUSED, "the server's WAL segment size changed from %" PRIu64
                             " to %" PRIu64 " bytes", r->segment_size, s->system.segment_size);
    return PGB_OK;
}

/* READ_REPLICATION_SLOT (15+): whether the slot exists, and where it holds WAL from. */
static int read_slot(struct session *s, int *exists)
{
    char command[128];
    snprintf(command, sizeof(command), "READ_REPLICATION_SLOT %s", s->r->slot);
    PGresult *res;
    int rc = pgb_pg_query(s->ctx, s->conn, command, &res);
    if (rc != PGB_OK)
        return rc;
    *exists = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    if (*exists && strcmp(PQgetvalue(res, 0, 0), "physical") != 0)
        rc = pgb_error_set(s->ctx, PGB_EINVALID, "replication slot %s is a %s slot: WAL is received through a "
                           "physical one; choose another name with the slot option", s->r->slot, PQgetvalue(res, 0, 0));
    if (*exists && rc == PGB_OK && PQnfields(res) >= 3 && !PQgetisnull(res, 0, 1)) {
        pgb_lsn_parse(NULL, PQgetvalue(res, 0, 1), &s->slot_restart_lsn);
        s->slot_restart_timeline = PQgetisnull(res, 0, 2) ? 0 : (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
    }
    PQclear(res);
    return rc;
}

/* The slot is permanent: it keeps the WAL the receiver has not stored while the receiver is away. */
static int ensure_slot(struct session *s)
{
    int exists = 0;
    if (PQserverVersion(s->conn) >= 150000) {
        int rc = read_slot(s, &exists);
        if (rc != PGB_OK || exists)
            return rc;
    }
    char command[160];
    snprintf(command, sizeof(command), PQserverVersion(s->conn) >= 150000
                                           ? "CREATE_REPLICATION_SLOT %s PHYSICAL (RESERVE_WAL)"
                                           : "CREATE_REPLICATION_SLOT %s PHYSICAL RESERVE_WAL",
             s->r->slot);
    PGresult *res = PQexec(s->conn, command);
    int rc = PGB_OK;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        pgb_lsn_parse(NULL, PQgetvalue(res, 0, 1), &s->slot_restart_lsn);
        s->slot_restart_timeline = s->system.timeline;
        pgb_log(s->ctx, PGB_LOG_INFO, "created replication slot %s", s->r->slot);
    } else if (!has_sqlstate(res, SQLSTATE_DUPLICATE_OBJECT)) { /* made meanwhile, or 13 and 14 */
        char message[128];
        snprintf(message, sizeof(message), "cannot create replication slot %s", s->r->slot);
        rc = server_error(s, res, message);
    }
    PQclear(res);
    return rc;
}

/* Store the history file of timeline (above 1) unless the repository has it. */
static int ensure_history(struct session *s, uint32_t timeline)
{
    struct pgb_wal_receiver *r = s->r;
    if (timeline <= 1 || r->history_stored >= timeline)
        return PGB_OK;
    if (pgb_wal_store_has_history(&r->store, timeline)) {
        r->history_stored = timeline;
        return PGB_OK;
    }
    char command[64];
    snprintf(command, sizeof(command), "TIMELINE_HISTORY %" PRIu32, timeline);
    PGresult *res;
    int rc = pgb_pg_query(s->ctx, s->conn, command, &res);
    if (rc != PGB_OK)
        return rc;
    if (PQntuples(res) != 1 || PQnfields(res) != 2)
        rc = pgb_error_set(s->ctx, PGB_ECONNECTION, "TIMELINE_HISTORY %" PRIu32 " gave an unexpected answer", timeline);
    else
        rc = pgb_wal_store_history(&r->store, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                                   (size_t)PQgetlength(res, 0, 1));
    PQclear(res);
    if (rc == PGB_OK)
        r->history_stored = timeline;
    return rc;
}

/* ---- where to start ---- */

static void start_at(struct session *s, uint32_t timeline, uint64_t lsn, uint64_t partial_end)
{
    struct pgb_wal_receiver *r = s->r;
    uint64_t segno = pgb_wal_segment_number(lsn, r->segment_size);
    r->write_lsn = pgb_wal_segment_start(segno, r->segment_size);
    r->stream_timeline = timeline;
    r->have_position = 1;
    pgb_wal_store_begin(&r->store, timeline, segno, partial_end);
}

/* Without a stream to continue: after the repository's end, else the slot's position, else the server's. */
static int choose_start(struct session *s)
{
    struct pgb_wal_receiver *r = s->r;
    struct pgb_wal_receive_start stored;
    int rc = pgb_wal_receive_scan(r->repo, r->segment_size, s->system.timeline, &stored);
    if (rc != PGB_OK)
        return rc;
    char have[PGB_LSN_TEXT_SIZE], from[PGB_LSN_TEXT_SIZE];
    if (r->origin == PGB_WAL_START_REPOSITORY && stored.found &&
        !(stored.timeline == s->system.timeline && stored.end > s->system.xlogpos)) {
        start_at(s, stored.timeline, stored.end, stored.partial_end);
        return PGB_OK;
    }
    if (r->origin <= PGB_WAL_START_SLOT && s->slot_restart_lsn)
        start_at(s, s->slot_restart_timeline ? s->slot_restart_timeline : s->system.timeline, s->slot_restart_lsn, 0);
    else
        start_at(s, s->system.timeline, s->system.xlogpos, 0);
    pgb_lsn_format(r->write_lsn, from);
    if (!stored.found)
        pgb_log(s->ctx, PGB_LOG_INFO, "the repository holds no WAL of this cluster yet: receiving from %s", from);
    else if (stored.end > r->write_lsn)
        pgb_log(s->ctx, PGB_LOG_INFO, "the repository holds WAL beyond the server's position %s: receiving from "
                "there (what is archived already is kept)", from);
    else if (stored.end < r->write_lsn)
        pgb_log(s->ctx, PGB_LOG_WARNING, "the archive of this cluster lacks the WAL from %s to %s: the server removed "
                "it before it was received; recovery cannot pass that gap", pgb_lsn_format(stored.end, have), from);
    return PGB_OK;
}

/* ---- the stream ---- */

/* The end of a timeline: the old one's last segment stays as a partial, the history of the next is stored. */
static int follow_timeline(struct session *s, uint32_t next, uint64_t next_start)
{
    struct pgb_wal_receiver *r = s->r;
    if (next <= r->stream_timeline || next_start > r->write_lsn)
        return pgb_error_set(s->ctx, PGB_ECONNECTION, "PostgreSQL ended timeline %" PRIu32 " with an unexpected "
                             "next timeline", r->stream_timeline);
    /* No status update: the COPY is over; the next START_REPLICATION's first one tells the server. */
    int rc = pgb_wal_receive_store_pending(r);
    publish(s);
    if (rc == PGB_OK)
        rc = ensure_history(s, next);
    if (rc != PGB_OK)
        return rc;
    char at[PGB_LSN_TEXT_SIZE];
    pgb_log(s->ctx, PGB_LOG_INFO, "timeline %" PRIu32 " ends at %s: following timeline %" PRIu32, r->stream_timeline,
            pgb_lsn_format(next_start, at), next);
    /* The new timeline's first segment begins with its parent's WAL: receive it whole, from its start. */
    start_at(s, next, next_start, 0);
    return PGB_OK;
}

static int removed_wal(const PGresult *res)
{
    const char *message = res ? PQresultErrorMessage(res) : NULL;
    return has_sqlstate(res, SQLSTATE_UNDEFINED_FILE) || (message && strstr(message, "has already been removed"));
}

static void drain(PGconn *conn)
{
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
}

/*
 * The result after a COPY ended or a START_REPLICATION that skipped it; takes
 * res. *switched when a timeline ended and the next one is ready to start.
 */
static int end_of_stream(struct session *s, PGresult *res, int *switched)
{
    *switched = 0;
    int rc;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        /* next_tli, next_tli_startpos; the command completes before the connection takes another. */
        uint64_t next_start = 0;
        uint32_t next = 0;
        if (PQntuples(res) == 1 && PQnfields(res) >= 2 &&
            pgb_lsn_parse(NULL, PQgetvalue(res, 0, 1), &next_start) == PGB_OK)
            next = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        res = PQgetResult(s->conn);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? PGB_OK
                 : server_error(s, res, "PostgreSQL ended a timeline without completing the command");
        PQclear(res);
        drain(s->conn);
        if (rc == PGB_OK)
            rc = follow_timeline(s, next, next_start);
        *switched = rc == PGB_OK;
        return rc;
    } else if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = pgb_error_set(s->ctx, PGB_ECONNECTION, "PostgreSQL ended the replication (the server is shutting down)");
    } else {
        rc = server_error(s, res, "PostgreSQL stopped sending WAL");
        /* The WAL to continue from is gone: the next session begins further on, and says what is missing. */
        if (removed_wal(res) && s->received_here == 0) {
            s->r->have_position = 0;
            s->r->origin = s->r->origin < PGB_WAL_START_SERVER ? s->r->origin + 1 : PGB_WAL_START_SERVER;
        }
    }
    PQclear(res);
    drain(s->conn);
    return rc;
}

/* The server ended COPY BOTH: end ours too, unless it failed, then read how it ended. */
static int copy_ended(struct session *s, int *switched)
{
    PGresult *res = PQgetResult(s->conn);
    if (PQresultStatus(res) == PGRES_COPY_IN) {
        PQclear(res);
        if (PQputCopyEnd(s->conn, NULL) <= 0 || PQflush(s->conn) != 0)
            return server_error(s, NULL, "cannot end the replication with PostgreSQL");
        res = PQgetResult(s->conn);
    }
    return end_of_stream(s, res, switched);
}

static int receive_wal(struct session *s, const struct pgb_replication_message *m)
{
    struct pgb_wal_receiver *r = s->r;
    struct pgb_wal_store *st = &r->store;
    if (m->data_start != r->write_lsn) {
        char got[PGB_LSN_TEXT_SIZE], want[PGB_LSN_TEXT_SIZE];
        return pgb_error_set(s->ctx, PGB_ECONNECTION, "the server sent WAL from %s where %s was expected",
                             pgb_lsn_format(m->data_start, got), pgb_lsn_format(r->write_lsn, want));
    }
    const uint8_t *data = m->data;
    size_t size = m->size;
    while (size > 0) {
        uint64_t segno = pgb_wal_segment_number(r->write_lsn, r->segment_size);
        if (st->segno != segno) {
            int rc = pgb_wal_receive_store_pending(r);
            if (rc != PGB_OK)
                return rc;
            pgb_wal_store_begin(st, r->stream_timeline, segno, 0);
        }
        size_t chunk = size;
        if ((uint64_t)chunk > r->segment_size - st->filled)
            chunk = (size_t)(r->segment_size - st->filled);
        int rc = pgb_wal_store_append(st, data, chunk);
        if (rc != PGB_OK)
            return rc;
        r->write_lsn += chunk;
        s->received_here += chunk;
        r->origin = PGB_WAL_START_REPOSITORY; /* streaming again: the repository's end is the place to resume */
        data += chunk;
        size -= chunk;
        if (st->filled == r->segment_size) {
            rc = store_and_report(s);
            if (rc != PGB_OK)
                return rc;
        }
    }
    publish(s);
    return PGB_OK;
}

/* The partial is stored at most every partial_interval while WAL flows, and once the stream pauses after that. */
static int partial_due(const struct session *s, int idle)
{
    const struct pgb_wal_receiver *r = s->r;
    const struct pgb_wal_store *st = &r->store;
    if (!st->active || st->completed || r->write_lsn <= st->durable)
        return 0;
    return pgb_monotonic_ms() - s->last_partial_ms >= r->partial_interval_ms && (idle || r->partial_interval_ms > 0);
}

/* Stream until a stop (0), the end of the timeline (*switched) or a failure. */
static int copy_loop(struct session *s, int *switched)
{
    struct pgb_wal_receiver *r = s->r;
    *switched = 0;
    s->last_status_ms = s->last_partial_ms = pgb_monotonic_ms();
    int rc = send_status(s);
    while (rc == PGB_OK) {
        if (pgb_wal_receiver_stopping(r)) {
            rc = store_and_report(s);
            pgb_replication_end_copy(s->conn, END_COPY_MS);
            return rc;
        }
        char *message = NULL;
        int n = PQgetCopyData(s->conn, &message, 1);
        if (n == -1)
            return copy_ended(s, switched);
        if (n < -1)
            return server_error(s, NULL, "the replication connection broke");
        if (n > 0) {
            struct pgb_replication_message m;
            const char *problem;
            if (pgb_replication_parse(message, n, &m, &problem) != 0)
                rc = pgb_error_set(s->ctx, PGB_ECONNECTION, "%s", problem);
            else if (m.type == 'w')
                rc = receive_wal(s, &m);
            else if (m.reply_requested)
                rc = send_status(s);
            PQfreemem(message);
        }
        if (rc == PGB_OK && partial_due(s, n == 0))
            rc = store_and_report(s);
        if (rc == PGB_OK && pgb_monotonic_ms() - s->last_status_ms >= r->status_interval_ms)
            rc = send_status(s);
        if (rc == PGB_OK && n == 0 && pgb_replication_wait(s->conn, POLL_MS) != 0)
            rc = server_error(s, NULL, "the replication connection broke");
    }
    return rc;
}

/*
 * START_REPLICATION; *copying when COPY BOTH began, else the timeline ended
 * right there (*switched); *refused when the server refused the position.
 */
static int start_replication(struct session *s, int *copying, int *switched, int *refused)
{
    struct pgb_wal_receiver *r = s->r;
    *copying = *switched = *refused = 0;
    char command[256], from[PGB_LSN_TEXT_SIZE];
    pgb_replication_start_command(r->slot, r->write_lsn, r->stream_timeline, command, sizeof(command));
    pgb_lsn_format(r->write_lsn, from);
    for (int attempt = 1;; attempt++) {
        if (!PQsendQuery(s->conn, command))
            return server_error(s, NULL, "cannot send START_REPLICATION to PostgreSQL");
        PGresult *res = PQgetResult(s->conn);
        if (PQresultStatus(res) == PGRES_COPY_BOTH) {
            PQclear(res);
            *copying = 1;
            return PGB_OK;
        }
        if (PQresultStatus(res) == PGRES_TUPLES_OK) /* a start exactly at the end of a timeline skips COPY */
            return end_of_stream(s, res, switched);
        int busy = has_sqlstate(res, SQLSTATE_OBJECT_IN_USE);
        *refused = res && PQresultStatus(res) == PGRES_FATAL_ERROR && !busy;
        char message[128];
        snprintf(message, sizeof(message), "PostgreSQL refused to stream WAL from %s on timeline %" PRIu32, from,
                 r->stream_timeline);
        int rc = server_error(s, res, message);
        PQclear(res);
        drain(s->conn);
        if (!busy || attempt == SLOT_BUSY_ATTEMPTS || pgb_wal_receiver_stopping(r))
            return rc;
        struct timespec pause = {0, 500 * 1000000L};
        nanosleep(&pause, NULL);
    }
}

/* A start this session chose itself was refused: try the next origin (slot, then the server's position). */
static int start_elsewhere(struct session *s)
{
    struct pgb_wal_receiver *r = s->r;
    char detail[512];
    snprintf(detail, sizeof(detail), "%s", pgb_ctx_errdetail(s->ctx));
    pgb_text_trim(detail);
    pgb_log(s->ctx, PGB_LOG_WARNING, "%s (%s): starting from the %s's position instead", pgb_ctx_errmsg(s->ctx),
            detail, r->origin == PGB_WAL_START_REPOSITORY && s->slot_restart_lsn ? "slot" : "server");
    pgb_error_clear(s->ctx);
    r->origin = r->origin == PGB_WAL_START_REPOSITORY && s->slot_restart_lsn ? PGB_WAL_START_SLOT
                                                                              : PGB_WAL_START_SERVER;
    return choose_start(s);
}

static int stream(struct session *s, int continued)
{
    struct pgb_wal_receiver *r = s->r;
    int rc = PGB_OK;
    for (int switched = 1; rc == PGB_OK && switched && !pgb_wal_receiver_stopping(r);) {
        rc = ensure_history(s, r->stream_timeline);
        int copying = 0, refused = 0;
        if (rc == PGB_OK)
            rc = start_replication(s, &copying, &switched, &refused);
        if (refused && !continued && r->origin != PGB_WAL_START_SERVER) {
            rc = start_elsewhere(s);
            switched = 1;
            continue;
        }
        if (rc != PGB_OK || !copying)
            continue;
        continued = 1; /* from here on the server gives the positions */
        r->streamed = 1;
        atomic_store(&r->timeline, r->stream_timeline);
        char from[PGB_LSN_TEXT_SIZE];
        pgb_log(s->ctx, PGB_LOG_INFO, "receiving WAL from %s on timeline %" PRIu32 " through slot %s",
                pgb_lsn_format(r->write_lsn, from), r->stream_timeline, r->slot);
        rc = copy_loop(s, &switched);
    }
    return rc;
}

int pgb_wal_receive_session(struct pgb_wal_receiver *r)
{
    struct session s = {.r = r, .ctx = r->ctx};
    int rc = connect_server(&s);
    if (rc == PGB_OK)
        rc = ensure_slot(&s);
    /* A segment received in an earlier session but not stored yet goes first. */
    if (rc == PGB_OK)
        rc = pgb_wal_receive_store_pending(r);
    int continued = r->have_position;
    if (rc == PGB_OK && !continued)
        rc = choose_start(&s);
    if (rc == PGB_OK) {
        publish(&s);
        rc = stream(&s, continued);
    }
    PQfinish(s.conn);
    return rc;
}
