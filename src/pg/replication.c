#include "pg/replication.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/progress.h"
#include "pg/connection.h"
#include "pg/lsn.h"

/* Microseconds between the Unix epoch and PostgreSQL's, 2000-01-01 00:00 UTC. */
#define POSTGRES_EPOCH_OFFSET_US INT64_C(946684800000000)

enum { POLL_MS = 100 };

int pgb_replication_check_version(pgb_ctx *ctx, PGconn *conn, const char *what)
{
    int major = PQserverVersion(conn) / 10000;
    if (major < 13 || major > 17)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED, "cannot %s from PostgreSQL %d: supported are 13 to 17", what,
                             major);
    return PGB_OK;
}

int pgb_replication_identify(pgb_ctx *ctx, PGconn *conn, struct pgb_replication_system *out)
{
    PGresult *res;
    int rc = pgb_pg_query(ctx, conn, "IDENTIFY_SYSTEM", &res);
    if (rc != PGB_OK)
        return rc;
    if (PQntuples(res) != 1 || PQnfields(res) < 3 || PQgetlength(res, 0, 0) >= (int)sizeof(out->system_identifier) ||
        pgb_lsn_parse(NULL, PQgetvalue(res, 0, 2), &out->xlogpos) != PGB_OK) {
        PQclear(res);
        return pgb_error_set(ctx, PGB_ECONNECTION, "IDENTIFY_SYSTEM gave an unexpected answer");
    }
    snprintf(out->system_identifier, sizeof(out->system_identifier), "%s", PQgetvalue(res, 0, 0));
    out->timeline = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);

    rc = pgb_pg_query(ctx, conn, "SHOW wal_segment_size", &res);
    if (rc != PGB_OK)
        return rc;
    rc = PQntuples(res) == 1 ? pgb_wal_segment_size_parse(ctx, PQgetvalue(res, 0, 0), &out->segment_size)
                             : pgb_error_set(ctx, PGB_ECONNECTION, "SHOW wal_segment_size gave no row");
    PQclear(res);
    return rc;
}

static uint64_t read_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (uint8_t)p[i];
    return v;
}

static void write_be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

int pgb_replication_parse(const char *message, int length, struct pgb_replication_message *out,
                          const char **problem)
{
    *out = (struct pgb_replication_message){.type = length > 0 ? message[0] : 0};
    switch (out->type) {
    case 'w': /* XLogData: start, server's WAL end, send time, then WAL bytes */
        if (length < 25) {
            *problem = "the server sent a short WAL data message";
            return -1;
        }
        out->data_start = read_be64(message + 1);
        out->wal_end = read_be64(message + 9);
        out->data = (const uint8_t *)message + 25;
        out->size = (size_t)length - 25;
        return 0;
    case 'k': /* keepalive: WAL end, send time, reply requested */
        if (length < 18) {
            *problem = "the server sent a short keepalive message";
            return -1;
        }
        out->wal_end = read_be64(message + 1);
        out->reply_requested = message[17] != 0;
        return 0;
    default:
        *problem = "the server sent a replication message of an unknown type";
        return -1;
    }
}

static int64_t postgres_now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 - POSTGRES_EPOCH_OFFSET_US;
}

int pgb_replication_send_status(PGconn *conn, uint64_t written, uint64_t flushed)
{
    char reply[34];
    reply[0] = 'r';
    write_be64(reply + 1, written);
    write_be64(reply + 9, flushed);
    write_be64(reply + 17, 0);
    write_be64(reply + 25, (uint64_t)postgres_now_us());
    reply[33] = 0;
    return PQputCopyData(conn, reply, sizeof(reply)) > 0 && PQflush(conn) == 0 ? 0 : -1;
}

void pgb_replication_start_command(const char *slot, uint64_t start, uint32_t timeline, char *out, size_t size)
{
    char lsn[PGB_LSN_TEXT_SIZE];
    pgb_lsn_format(start, lsn);
    if (slot)
        snprintf(out, size, "START_REPLICATION SLOT %s PHYSICAL %s TIMELINE %" PRIu32, slot, lsn, timeline);
    else
        snprintf(out, size, "START_REPLICATION PHYSICAL %s TIMELINE %" PRIu32, lsn, timeline);
}

int pgb_replication_wait(PGconn *conn, int timeout_ms)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return -1;
    return PQconsumeInput(conn) ? 0 : -1;
}

void pgb_replication_end_copy(PGconn *conn, uint64_t timeout_ms)
{
    if (PQputCopyEnd(conn, NULL) <= 0 || PQflush(conn) != 0)
        return;
    uint64_t deadline = pgb_monotonic_ms() + timeout_ms;
    for (;;) {
        char *buffer;
        int n = PQgetCopyData(conn, &buffer, 1);
        if (n > 0) {
            PQfreemem(buffer);
            continue;
        }
        if (n < 0)
            break;
        if (pgb_monotonic_ms() > deadline || pgb_replication_wait(conn, POLL_MS) != 0)
            return;
    }
    while (pgb_monotonic_ms() < deadline) {
        if (PQisBusy(conn)) {
            if (pgb_replication_wait(conn, POLL_MS) != 0)
                return;
            continue;
        }
        PGresult *res = PQgetResult(conn);
        if (!res)
            return;
        PQclear(res);
    }
}
