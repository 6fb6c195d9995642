#include "pg/base_backup.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>
#include <pgbackup/log.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "pg/connection.h"
#include "pg/lsn.h"

/* How often, in archive bytes, the progress callback hears from us between the server's reports. */
#define PROGRESS_INTERVAL (UINT64_C(1) << 20)

/* How long an abort may take to bring the connection back to idle before we give up on it. */
#define ABORT_DRAIN_MS 30000

/* What the COPY stream says next, as far as the archive reader cares. */
enum stream_event {
    EVENT_NONE = 0,
    EVENT_DATA,     /* bytes of the current archive or of the manifest */
    EVENT_ARCHIVE,  /* a new archive begins: archive_name, archive_location */
    EVENT_MANIFEST, /* the manifest begins */
    EVENT_END       /* the COPY data is over; the end position follows */
};

/* A row of the tablespace result set; oid 0 is the main data directory. */
struct archive_row {
    uint32_t oid;
    const char *location; /* "" for the main data directory; owned by the result or static */
};

struct backup_stream {
    pgb_ctx *ctx;
    PGconn *conn;
    int legacy; /* 13 and 14: one COPY per archive, no type bytes, no progress messages */
    const struct pgb_base_backup_callbacks *cb;
    struct pgb_base_backup_result *result;

    char *message;   /* the current CopyData, freed at the next read */
    int in_copy;     /* a COPY OUT is open on the connection */
    int command_done; /* every result of BASE_BACKUP was read */
    int pending;     /* an event seen by the archive source, for the main loop */
    char *archive_name, *archive_location;
    PGresult *end_result; /* legacy: the end position, met while looking for the next COPY */

    struct archive_row *rows;
    size_t row_count;
    size_t archives_started; /* legacy: which row the next COPY belongs to */
    int base_seen, manifest_seen;

    uint64_t bytes_done, bytes_total, reported_at;
    long long checksum_total; /* from the server's "N total checksum verification failures" */
    PQnoticeReceiver old_receiver;
};

void pgb_base_backup_options_init(struct pgb_base_backup_options *opts)
{
    *opts = (struct pgb_base_backup_options){.verify_checksums = 1, .manifest_checksums = "SHA256"};
}

void pgb_base_backup_result_clear(struct pgb_base_backup_result *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->tablespace_count; i++)
        free(result->tablespaces[i].location);
    free(result->tablespaces);
    memset(result, 0, sizeof(*result));
}

/* ---- talking to the server ---- */

static int connection_error(struct backup_stream *s, const char *what, const char *detail)
{
    char where[256];
    pgb_pg_describe(s->conn, where, sizeof(where));
    pgb_error_set(s->ctx, PGB_ECONNECTION, "base backup from PostgreSQL (%s): %s", where, what);
    pgb_error_set_detail(s->ctx, "%s", detail ? detail : PQerrorMessage(s->conn));
    return PGB_ECONNECTION;
}

static int protocol_error(struct backup_stream *s, const char *what)
{
    char where[256];
    pgb_pg_describe(s->conn, where, sizeof(where));
    return pgb_error_set(s->ctx, PGB_ECORRUPT, "base backup from PostgreSQL (%s): unexpected protocol message: %s",
                         where, what);
}

/* Wait up to timeout_ms for input and read it in. 0, or -1 when the connection broke. */
static int wait_input(PGconn *conn, int timeout_ms)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    if (pfd.fd < 0)
        return -1;
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return -1;
    return PQconsumeInput(conn) ? 0 : -1;
}

/*
 * Wait for input, looking at the cancel flag every half second, so that a
 * long starting checkpoint or a slow server can still be interrupted.
 */
static int wait_readable(struct backup_stream *s)
{
    int rc = pgb_check_canceled(s->ctx);
    if (rc != PGB_OK)
        return rc;
    if (wait_input(s->conn, 500) != 0)
        return connection_error(s, "the connection broke", NULL);
    return PGB_OK;
}

static int next_result(struct backup_stream *s, PGresult **out)
{
    while (PQisBusy(s->conn)) {
        int rc = wait_readable(s);
        if (rc != PGB_OK)
            return rc;
    }
    *out = PQgetResult(s->conn);
    if (*out && PQresultStatus(*out) == PGRES_COPY_OUT)
        s->in_copy = 1;
    if (!*out)
        s->command_done = 1;
    return PGB_OK;
}

/* The next CopyData into s->message: 1 with its length, 0 when the COPY ended, or an error. */
static int next_copy_data(struct backup_stream *s, int *length)
{
    PQfreemem(s->message);
    s->message = NULL;
    for (;;) {
        int rc = pgb_check_canceled(s->ctx);
        if (rc != PGB_OK)
            return rc;
        int n = PQgetCopyData(s->conn, &s->message, 1);
        if (n > 0) {
            *length = n;
            return 1;
        }
        if (n == -1) {
            s->in_copy = 0;
            return 0;
        }
        if (n == -2)
            return connection_error(s, "cannot read the COPY stream", NULL);
        rc = wait_readable(s);
        if (rc != PGB_OK)
            return rc;
    }
}

/*
 * Stop BASE_BACKUP on the server and read what is left so the connection is
 * idle again. A cancel request makes the walsender raise an error, and its
 * error cleanup aborts the backup (do_pg_abort_backup); without it we would
 * have to read the whole rest of the backup. Records no error: the one that
 * made us stop is what the caller must see.
 */
static void abort_backup(struct backup_stream *s)
{
    if (s->command_done)
        return;
    PGcancel *cancel = PQgetCancel(s->conn);
    if (cancel) {
        char message[256];
        PQcancel(cancel, message, sizeof(message));
        PQfreeCancel(cancel);
    }
    uint64_t deadline = pgb_monotonic_ms() + ABORT_DRAIN_MS;
    while (pgb_monotonic_ms() < deadline) {
        if (s->in_copy) {
            char *data;
            int n = PQgetCopyData(s->conn, &data, 1);
            if (n > 0) {
                PQfreemem(data);
                continue;
            }
            if (n == -1) {
                s->in_copy = 0;
                continue;
            }
            if (n == -2 || wait_input(s->conn, 500) != 0)
                break;
            continue;
        }
        if (PQisBusy(s->conn)) {
            if (wait_input(s->conn, 500) != 0)
                break;
            continue;
        }
        PGresult *res = PQgetResult(s->conn);
        if (!res) {
            s->command_done = 1;
            break;
        }
        if (PQresultStatus(res) == PGRES_COPY_OUT)
            s->in_copy = 1;
        PQclear(res);
    }
    if (!s->command_done)
        pgb_log(s->ctx, PGB_LOG_WARNING, "the aborted base backup did not end within %d s; close the connection",
                ABORT_DRAIN_MS / 1000);
}

/* Server notices (WARNINGs about skipped files, checksum failures) go to the log. */
static void notice_receiver(void *arg, const PGresult *res)
{
    struct backup_stream *s = arg;
    const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (!message)
        return;
    long long total;
    if (sscanf(message, "%lld total checksum verification failure", &total) == 1)
        s->checksum_total = total;
    int level = severity && (strcmp(severity, "WARNING") == 0) ? PGB_LOG_WARNING : PGB_LOG_INFO;
    pgb_log(s->ctx, level, "PostgreSQL %s during base backup: %s", severity ? severity : "notice", message);
}

/* ---- the stream of events ---- */

static int find_row(struct backup_stream *s, uint32_t oid)
{
    for (size_t i = 0; i < s->row_count; i++)
        if (s->rows[i].oid == oid)
            return (int)i;
    return -1;
}

static int set_archive(struct backup_stream *s, const char *name, const char *location)
{
    free(s->archive_name);
    free(s->archive_location);
    s->archive_name = pgb_text_dup(name);
    s->archive_location = pgb_text_dup(location);
    return s->archive_name && s->archive_location ? PGB_OK : pgb_error_nomem(s->ctx);
}

/* 15+: "n" archive name NUL location NUL, nothing more (as pg_basebackup checks). */
static int parse_new_archive(struct backup_stream *s, int length)
{
    const char *body = s->message + 1;
    size_t left = (size_t)length - 1;
    const char *name_end = memchr(body, '\0', left);
    if (!name_end)
        return protocol_error(s, "new-archive message without archive name");
    const char *location = name_end + 1;
    size_t location_left = left - (size_t)(location - body);
    const char *location_end = location_left ? memchr(location, '\0', location_left) : NULL;
    if (!location_end || (size_t)(location_end - body) + 1 != left)
        return protocol_error(s, "new-archive message of the wrong length");
    return set_archive(s, body, location);
}

/* 15+: one COPY, every CopyData typed by its first byte (basebackup_copy.c, "copystream"). */
static int next_event_typed(struct backup_stream *s, int *event, const uint8_t **data, size_t *size, int *progress_due)
{
    for (;;) {
        int length = 0;
        int rc = next_copy_data(s, &length);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            *event = EVENT_END;
            return PGB_OK;
        }
        switch (s->message[0]) {
        case 'd':
            if (length == 1)
                continue;
            *event = EVENT_DATA;
            *data = (const uint8_t *)s->message + 1;
            *size = (size_t)length - 1;
            return PGB_OK;
        case 'n':
            rc = parse_new_archive(s, length);
            if (rc != PGB_OK)
                return rc;
            *event = EVENT_ARCHIVE;
            return PGB_OK;
        case 'm':
            if (length != 1)
                return protocol_error(s, "manifest message of the wrong length");
            *event = EVENT_MANIFEST;
            return PGB_OK;
        case 'p':
            if (length != 9)
                return protocol_error(s, "progress message of the wrong length");
            /* The server counts the bytes it sent; our count of bytes received is the same measure. */
            *progress_due = 1;
            continue;
        default: {
            char what[64];
            snprintf(what, sizeof(what), "CopyData of type 0x%02x", (unsigned char)s->message[0]);
            return protocol_error(s, what);
        }
        }
    }
}

/* 13 and 14: a COPY per archive in row order, then one for the manifest, then the end position. */
static int next_event_legacy(struct backup_stream *s, int *event, const uint8_t **data, size_t *size)
{
    for (;;) {
        if (s->in_copy) {
            int length = 0;
            int rc = next_copy_data(s, &length);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                *event = EVENT_DATA;
                *data = (const uint8_t *)s->message;
                *size = (size_t)length;
                return PGB_OK;
            }
            continue; /* that COPY ended: see what comes next */
        }
        PGresult *res;
        int rc = next_result(s, &res);
        if (rc != PGB_OK)
            return rc;
        if (!res)
            return protocol_error(s, "the backup ended without an end position");
        switch (PQresultStatus(res)) {
        case PGRES_COPY_OUT:
            PQclear(res);
            if (s->archives_started < s->row_count) {
                const struct archive_row *row = &s->rows[s->archives_started++];
                char name[32];
                if (row->oid)
                    snprintf(name, sizeof(name), "%u.tar", (unsigned)row->oid);
                else
                    snprintf(name, sizeof(name), "base.tar");
                rc = set_archive(s, name, row->location);
                if (rc != PGB_OK)
                    return rc;
                *event = EVENT_ARCHIVE;
                return PGB_OK;
            }
            if (!s->manifest_seen) {
                *event = EVENT_MANIFEST;
                return PGB_OK;
            }
            return protocol_error(s, "a COPY after the manifest");
        case PGRES_COMMAND_OK:
            PQclear(res);
            continue;
        case PGRES_TUPLES_OK:
            s->end_result = res;
            *event = EVENT_END;
            return PGB_OK;
        default:
            rc = connection_error(s, "the server failed during the backup", PQresultErrorMessage(res));
            PQclear(res);
            return rc;
        }
    }
}

static int report_progress(struct backup_stream *s, int force)
{
    const struct pgb_base_backup_callbacks *cb = s->cb;
    if (!cb->progress || (!force && s->bytes_done - s->reported_at < PROGRESS_INTERVAL))
        return PGB_OK;
    s->reported_at = s->bytes_done;
    /* The server's total is an estimate made before reading; never report past it. */
    if (s->bytes_total && s->bytes_done > s->bytes_total)
        s->bytes_total = s->bytes_done;
    int rc = cb->progress(cb->payload, s->bytes_done, s->bytes_total);
    if (rc != 0 && pgb_ctx_errcode(s->ctx) == PGB_OK)
        pgb_error_set(s->ctx, rc < 0 ? rc : PGB_ECANCELED, "the progress callback stopped the base backup (code %d)",
                      rc);
    return rc;
}

static int next_event(struct backup_stream *s, int *event, const uint8_t **data, size_t *size)
{
    int progress_due = 0;
    int rc = s->legacy ? next_event_legacy(s, event, data, size)
                       : next_event_typed(s, event, data, size, &progress_due);
    if (rc != PGB_OK)
        return rc;
    if (*event != EVENT_DATA)
        progress_due = 1;
    /* At the end the total is known exactly: the last report says everything is done. */
    if (*event == EVENT_END)
        s->bytes_total = s->bytes_done;
    return report_progress(s, progress_due);
}

/* The tar reader's source: data events of the current archive; anything else ends it. */
static int archive_source_read(void *payload, const uint8_t **data, size_t *size)
{
    struct backup_stream *s = payload;
    *size = 0;
    if (s->pending != EVENT_NONE)
        return PGB_OK;
    int event;
    int rc = next_event(s, &event, data, size);
    if (rc != 0)
        return rc;
    if (event == EVENT_DATA) {
        s->bytes_done += *size;
        return PGB_OK;
    }
    s->pending = event;
    *size = 0;
    return PGB_OK;
}

/* Which tablespace an archive holds, checked against the tablespace result set. */
static int archive_tablespace(struct backup_stream *s, uint32_t *oid)
{
    const char *name = s->archive_name;
    if (strcmp(name, "base.tar") == 0) {
        *oid = 0;
    } else {
        char *end;
        errno = 0;
        unsigned long value = strtoul(name, &end, 10);
        if (end == name || errno || value == 0 || value > UINT32_MAX || strcmp(end, ".tar") != 0) {
            char what[300];
            snprintf(what, sizeof(what), "archive \"%.200s\" (compressed, or not a tablespace)", name);
            return protocol_error(s, what);
        }
        *oid = (uint32_t)value;
    }
    int row = find_row(s, *oid);
    if (row < 0 || strcmp(s->rows[row].location, s->archive_location) != 0) {
        char what[300];
        snprintf(what, sizeof(what), "archive %.100s for a tablespace not announced at %.150s", name,
                 s->archive_location);
        return protocol_error(s, what);
    }
    return PGB_OK;
}

static int read_archive(struct backup_stream *s)
{
    uint32_t oid = 0;
    int rc = archive_tablespace(s, &oid);
    if (rc != PGB_OK)
        return rc;
    if (oid == 0)
        s->base_seen = 1;
    const struct pgb_base_backup_callbacks *cb = s->cb;
    struct pgb_tar_entry_callbacks entries = {
        .payload = cb->payload,
        .entry_begin = cb->entry_begin,
        .entry_data = cb->entry_data,
        .entry_end = cb->entry_end,
    };
    struct pgb_tar_source source = {.payload = s, .read = archive_source_read};
    rc = pgb_tar_stream_read(s->ctx, &source, s->archive_name, oid, &entries);
    if (rc != 0)
        return rc;
    return report_progress(s, 1);
}

static int read_manifest(struct backup_stream *s)
{
    s->manifest_seen = 1;
    const struct pgb_base_backup_callbacks *cb = s->cb;
    for (;;) {
        int event;
        const uint8_t *data = NULL;
        size_t size = 0;
        int rc = next_event(s, &event, &data, &size);
        if (rc != 0)
            return rc;
        if (event != EVENT_DATA) {
            s->pending = event;
            return PGB_OK;
        }
        if (cb->manifest_data && (rc = cb->manifest_data(cb->payload, data, size)) != 0) {
            if (pgb_ctx_errcode(s->ctx) == PGB_OK)
                pgb_error_set(s->ctx, rc < 0 ? rc : PGB_ECANCELED,
                              "the manifest_data callback stopped the base backup (code %d)", rc);
            return rc;
        }
    }
}

/* ---- the result sets ---- */

static int parse_position(struct backup_stream *s, PGresult *res, const char *which, uint64_t *lsn,
                          uint32_t *tli)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 2)
        return protocol_error(s, which);
    char *end;
    unsigned long value = strtoul(PQgetvalue(res, 0, 1), &end, 10);
    if (pgb_lsn_parse(s->ctx, PQgetvalue(res, 0, 0), lsn) != PGB_OK || *end || value == 0 || value > UINT32_MAX)
        return protocol_error(s, which);
    *tli = (uint32_t)value;
    return PGB_OK;
}

static int read_tablespaces(struct backup_stream *s, PGresult *res)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) < 3 || PQntuples(res) < 1)
        return protocol_error(s, "tablespace list");
    size_t n = (size_t)PQntuples(res);
    struct pgb_base_backup_result *result = s->result;
    s->rows = calloc(n, sizeof(*s->rows));
    result->tablespaces = calloc(n, sizeof(*result->tablespaces));
    if (!s->rows || !result->tablespaces)
        return pgb_error_nomem(s->ctx);
    for (size_t i = 0; i < n; i++) {
        if (!PQgetisnull(res, (int)i, 2))
            s->bytes_total += strtoull(PQgetvalue(res, (int)i, 2), NULL, 10) * 1024u;
        if (PQgetisnull(res, (int)i, 0)) {
            /* The main data directory: null oid and location, the last row. */
            s->rows[s->row_count++] = (struct archive_row){.oid = 0, .location = ""};
            continue;
        }
        char *end;
        unsigned long oid = strtoul(PQgetvalue(res, (int)i, 0), &end, 10);
        if (*end || oid == 0 || oid > UINT32_MAX || PQgetisnull(res, (int)i, 1))
            return protocol_error(s, "tablespace list");
        struct pgb_tablespace *ts = &result->tablespaces[result->tablespace_count];
        ts->oid = (uint32_t)oid;
        ts->location = pgb_text_dup(PQgetvalue(res, (int)i, 1));
        if (!ts->location)
            return pgb_error_nomem(s->ctx);
        result->tablespace_count++;
        s->rows[s->row_count++] = (struct archive_row){.oid = ts->oid, .location = ts->location};
    }
    return PGB_OK;
}

static int server_failed(struct backup_stream *s, PGresult *res, const char *what)
{
    return connection_error(s, what, res ? PQresultErrorMessage(res) : NULL);
}

/* After the COPY: the end position, then the command's completion, or XX001 for bad page checksums. */
static int read_end(struct backup_stream *s)
{
    int rc = PGB_OK, have_end = 0;
    PGresult *res = s->end_result;
    s->end_result = NULL;
    for (;;) {
        if (!res) {
            int wait_rc = next_result(s, &res);
            if (wait_rc != PGB_OK)
                return wait_rc;
            if (!res)
                break;
        }
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_TUPLES_OK && !have_end) {
            int parse_rc = parse_position(s, res, "end position", &s->result->end_lsn, &s->result->end_tli);
            have_end = parse_rc == PGB_OK;
            if (rc == PGB_OK)
                rc = parse_rc;
        } else if (status == PGRES_FATAL_ERROR && rc == PGB_OK) {
            const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            if (sqlstate && strcmp(sqlstate, "XX001") == 0) {
                s->result->checksum_failures = s->checksum_total > 1 ? (int)s->checksum_total : 1;
                char where[256];
                pgb_pg_describe(s->conn, where, sizeof(where));
                rc = pgb_error_set(s->ctx, PGB_ECORRUPT,
                                   "base backup from PostgreSQL (%s) is complete but the server found %d damaged "
                                   "page(s) (checksum failures): do not trust it",
                                   where, s->result->checksum_failures);
                pgb_error_set_detail(s->ctx, "%s", PQresultErrorMessage(res));
            } else {
                rc = server_failed(s, res, "the server failed at the end of the backup");
            }
        } else if (status != PGRES_COMMAND_OK && rc == PGB_OK) {
            rc = protocol_error(s, "result after the backup data");
        }
        PQclear(res);
        res = NULL;
    }
    if (rc == PGB_OK && !have_end)
        rc = protocol_error(s, "the backup ended without an end position");
    return rc;
}

/* ---- the command ---- */

static const char *const checksum_algorithms[] = {"NONE", "CRC32C", "SHA224", "SHA256", "SHA384", "SHA512", NULL};

static int build_command(pgb_ctx *ctx, const struct pgb_base_backup_options *opts, int legacy, char **out)
{
    const char *label = opts->label ? opts->label : "pgbackup base backup";
    /* backup_label holds it on one line; the server caps it at MAXPGPATH. */
    if (strlen(label) >= 1024)
        return pgb_error_set(ctx, PGB_EINVALID, "backup label is too long (%zu bytes, at most 1023)", strlen(label));
    for (const char *p = label; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return pgb_error_set(ctx, PGB_EINVALID, "backup label must not contain control characters");
    const char *checksums = NULL;
    const char *asked = opts->manifest_checksums ? opts->manifest_checksums : "SHA256";
    for (size_t i = 0; checksum_algorithms[i]; i++)
        if (pgb_text_equal_nocase(asked, checksum_algorithms[i]))
            checksums = checksum_algorithms[i];
    if (!checksums)
        return pgb_error_set(ctx, PGB_EINVALID,
                             "unknown manifest checksum algorithm \"%.64s\" (NONE, CRC32C, SHA224, SHA256, SHA384, "
                             "SHA512)",
                             asked);

    /* The replication grammar's strings double their quotes and take backslashes literally (repl_scanner.l). */
    char quoted[2 * 1024 + 1];
    size_t n = 0;
    for (const char *p = label; *p; p++) {
        if (*p == '\'')
            quoted[n++] = '\'';
        quoted[n++] = *p;
    }
    quoted[n] = '\0';

    if (legacy)
        *out = pgb_text_printf("BASE_BACKUP LABEL '%s'%s%s NOWAIT%s MANIFEST 'yes' "
                               "MANIFEST_CHECKSUMS '%s'",
                               quoted, opts->progress ? " PROGRESS" : "", opts->fast_checkpoint ? " FAST" : "",
                               opts->verify_checksums ? "" : " NOVERIFY_CHECKSUMS", checksums);
    else
        *out = pgb_text_printf("BASE_BACKUP (LABEL '%s', PROGRESS %s, CHECKPOINT '%s', WAIT false, "
                               "MANIFEST 'yes', MANIFEST_CHECKSUMS '%s', VERIFY_CHECKSUMS %s)",
                               quoted, opts->progress ? "true" : "false", opts->fast_checkpoint ? "fast" : "spread",
                               checksums, opts->verify_checksums ? "true" : "false");
    return *out ? PGB_OK : pgb_error_nomem(ctx);
}

static int identify_system(struct backup_stream *s)
{
    PGresult *res;
    int rc = pgb_pg_query(s->ctx, s->conn, "IDENTIFY_SYSTEM", &res);
    if (rc != PGB_OK) {
        pgb_error_prefix(s->ctx, "cannot identify the server (is this a replication connection?)");
        return rc;
    }
    if (PQntuples(res) != 1 || PQnfields(res) < 1 ||
        PQgetlength(res, 0, 0) >= (int)sizeof(s->result->system_identifier)) {
        PQclear(res);
        return protocol_error(s, "IDENTIFY_SYSTEM result");
    }
    snprintf(s->result->system_identifier, sizeof(s->result->system_identifier), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return PGB_OK;
}

/* Everything from sending the command to the end of the COPY stream. */
static int stream_backup(struct backup_stream *s, const char *command,
                         int (*on_started)(void *payload, uint64_t start_lsn, uint32_t tli))
{
    if (!PQsendQuery(s->conn, command))
        return connection_error(s, "cannot send BASE_BACKUP", NULL);

    PGresult *res;
    int rc = next_result(s, &res);
    if (rc != PGB_OK)
        return rc;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = server_failed(s, res, "cannot start the base backup");
        PQclear(res);
        return rc;
    }
    rc = parse_position(s, res, "start position", &s->result->start_lsn, &s->result->start_tli);
    PQclear(res);
    if (rc != PGB_OK)
        return rc;

    rc = next_result(s, &res);
    if (rc != PGB_OK)
        return rc;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = server_failed(s, res, "cannot read the tablespace list");
        PQclear(res);
        return rc;
    }
    rc = read_tablespaces(s, res);
    PQclear(res);
    if (rc != PGB_OK)
        return rc;

    if (on_started && (rc = on_started(s->cb->payload, s->result->start_lsn, s->result->start_tli)) != 0) {
        if (pgb_ctx_errcode(s->ctx) == PGB_OK)
            pgb_error_set(s->ctx, rc < 0 ? rc : PGB_ECANCELED, "on_started stopped the base backup (code %d)", rc);
        return rc;
    }

    if (!s->legacy) {
        /* One COPY for everything; 13 and 14 open one per archive, met in next_event_legacy. */
        rc = next_result(s, &res);
        if (rc != PGB_OK)
            return rc;
        if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
            rc = res && PQresultStatus(res) == PGRES_FATAL_ERROR
                     ? server_failed(s, res, "the server failed before sending data")
                     : protocol_error(s, "no COPY stream after the tablespace list");
            PQclear(res);
            return rc;
        }
        PQclear(res);
    }

    for (;;) {
        int event = s->pending;
        s->pending = EVENT_NONE;
        if (event == EVENT_NONE) {
            const uint8_t *data;
            size_t size;
            rc = next_event(s, &event, &data, &size);
            if (rc != 0)
                return rc;
        }
        switch (event) {
        case EVENT_ARCHIVE:
            rc = read_archive(s);
            break;
        case EVENT_MANIFEST:
            if (s->manifest_seen)
                return protocol_error(s, "a second manifest");
            rc = read_manifest(s);
            break;
        case EVENT_END:
            if (!s->base_seen)
                return protocol_error(s, "the backup ended without the main data directory's archive");
            if (!s->manifest_seen)
                return protocol_error(s, "the backup ended without a backup_manifest");
            return PGB_OK;
        default:
            return protocol_error(s, "data outside any archive");
        }
        if (rc != 0)
            return rc;
    }
}

int pgb_base_backup_run(pgb_ctx *ctx, PGconn *conn, const struct pgb_base_backup_options *opts,
                        const struct pgb_base_backup_callbacks *cb,
                        int (*on_started)(void *payload, uint64_t start_lsn, uint32_t tli),
                        struct pgb_base_backup_result *result)
{
    static const struct pgb_base_backup_callbacks no_callbacks = {0};
    struct pgb_base_backup_options defaults;
    pgb_error_clear(ctx);
    if (!conn || !result)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_base_backup_run needs a connection and a result");
    memset(result, 0, sizeof(*result));
    if (!opts) {
        pgb_base_backup_options_init(&defaults);
        opts = &defaults;
    }
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
        return pgb_error_set(ctx, PGB_EINVALID, "the connection for the base backup is not open and idle");

    result->server_version_num = PQserverVersion(conn);
    int major = result->server_version_num / 10000;
    if (major < 13 || major > 17)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "cannot take a base backup of PostgreSQL %d (server_version_num %d): "
                             "supported are 13 to 17",
                             major, result->server_version_num);

    struct backup_stream s = {.ctx = ctx, .conn = conn, .legacy = major < 15, .cb = cb ? cb : &no_callbacks,
                              .result = result};
    char *command = NULL;
    int rc = build_command(ctx, opts, s.legacy, &command);
    if (rc != PGB_OK)
        return rc;
    rc = identify_system(&s);
    if (rc != PGB_OK)
        goto done;

    /*
     * libpq cannot tell the previous receiver's argument; connections from
     * pgb_pg_connect keep libpq's default receiver, which ignores it.
     */
    s.old_receiver = PQsetNoticeReceiver(conn, notice_receiver, &s);
    rc = stream_backup(&s, command, on_started);
    if (rc == 0)
        rc = read_end(&s);
    if (rc != 0)
        abort_backup(&s);
    PQsetNoticeReceiver(conn, s.old_receiver, NULL);
done:
    PQclear(s.end_result);
    PQfreemem(s.message);
    free(s.archive_name);
    free(s.archive_location);
    free(s.rows);
    free(command);
    return rc;
}
