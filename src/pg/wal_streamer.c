#include "pg/wal_streamer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/text.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/replication.h"

#define DEFAULT_TIMEOUT_MS 300000
/* pg_receivewal's default --status-interval; well under wal_sender_timeout (60 s). */
#define STATUS_INTERVAL_MS 10000
/* How often the thread looks at its stop flag while the server is quiet. */
#define POLL_MS 100
/* How long ending the replication may take before the connection is just closed. */
#define END_COPY_MS 10000

struct pgb_wal_streamer {
    pgb_ctx *ctx;
    PGconn *conn; /* owned by the thread while it runs */
    char *spool_dir;
    char slot_name[64];
    char system_identifier[32];
    uint32_t identified_timeline; /* IDENTIFY_SYSTEM's */
    uint64_t segment_size;
    uint64_t timeout_ms;

    pthread_t thread;
    int started, joined, finished;
    pthread_mutex_t lock;
    pthread_cond_t changed;

    /* Under lock. */
    uint64_t received_lsn; /* every byte below is written to the spool */
    int stop;
    int thread_done;
    int error_code;
    char error[512];
    char error_detail[512];

    /* The thread's, until it is joined. */
    uint32_t timeline;
    uint64_t start_lsn;   /* a segment start */
    uint64_t write_lsn;   /* the next byte expected */
    uint64_t flushed_lsn; /* fsynced below this */
    int fd;               /* the segment being written, or -1 */
    uint64_t fd_segno;
    uint64_t last_status_ms;
    char **names; /* complete segments in the spool, start segment first */
    size_t name_count, name_capacity;
    int last_padded;
};

/* ---- the thread's error, kept for pgb_wal_streamer_finish ---- */

static int thread_error(struct pgb_wal_streamer *s, int code, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int thread_error(struct pgb_wal_streamer *s, int code, const char *detail, const char *fmt, ...)
{
    pthread_mutex_lock(&s->lock);
    if (!s->error_code) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof(s->error), fmt, ap);
        va_end(ap);
        snprintf(s->error_detail, sizeof(s->error_detail), "%s", detail ? detail : "");
        s->error_code = code;
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return code;
}

/* ---- files ---- */

static void segment_path(const struct pgb_wal_streamer *s, uint64_t segno, int partial, char *out, size_t size)
{
    char name[PGB_WAL_NAME_SIZE];
    pgb_wal_segment_name(s->timeline, segno, s->segment_size, name);
    snprintf(out, size, "%s/%s%s", s->spool_dir, name, partial ? ".partial" : "");
}

static int write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int add_name(struct pgb_wal_streamer *s, uint64_t segno)
{
    if (s->name_count == s->name_capacity) {
        size_t capacity = s->name_capacity ? 2 * s->name_capacity : 16;
        char **names = realloc(s->names, capacity * sizeof(*names));
        if (!names)
            return PGB_ENOMEM;
        s->names = names;
        s->name_capacity = capacity;
    }
    char *name = malloc(PGB_WAL_NAME_SIZE);
    if (!name)
        return PGB_ENOMEM;
    pgb_wal_segment_name(s->timeline, segno, s->segment_size, name);
    s->names[s->name_count++] = name;
    return PGB_OK;
}

/*
 * Make the current segment durable under its final name: fsync the file, rename
 * <name>.partial to <name>, fsync the directory (the rename is the commit).
 */
static int complete_segment(struct pgb_wal_streamer *s)
{
    char partial[4096], final[4096];
    segment_path(s, s->fd_segno, 1, partial, sizeof(partial));
    segment_path(s, s->fd_segno, 0, final, sizeof(final));
    int rc = fsync(s->fd);
    int saved = errno;
    close(s->fd);
    s->fd = -1;
    if (rc != 0)
        return thread_error(s, PGB_EIO, NULL, "cannot fsync %s: %s", partial, strerror(saved));
    if (rename(partial, final) != 0)
        return thread_error(s, PGB_EIO, NULL, "cannot rename %s to %s: %s", partial, final, strerror(errno));
    if (fsync_dir(s->spool_dir) != 0)
        return thread_error(s, PGB_EIO, NULL, "cannot fsync the directory %s: %s", s->spool_dir, strerror(errno));
    if (add_name(s, s->fd_segno) != PGB_OK)
        return thread_error(s, PGB_ENOMEM, NULL, "out of memory");
    return PGB_OK;
}

static int open_segment(struct pgb_wal_streamer *s, uint64_t segno)
{
    char partial[4096];
    segment_path(s, segno, 1, partial, sizeof(partial));
    s->fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (s->fd < 0)
        return thread_error(s, PGB_EIO, NULL, "cannot create %s: %s", partial, strerror(errno));
    s->fd_segno = segno;
    return PGB_OK;
}

/* Append WAL that begins at data_start; one message may cross segment boundaries. */
static int write_wal(struct pgb_wal_streamer *s, uint64_t data_start, const uint8_t *data, size_t size)
{
    if (data_start != s->write_lsn) {
        char got[PGB_LSN_TEXT_SIZE], want[PGB_LSN_TEXT_SIZE];
        return thread_error(s, PGB_ECORRUPT, NULL, "the server sent WAL from %s where %s was expected",
                            pgb_lsn_format(data_start, got), pgb_lsn_format(s->write_lsn, want));
    }
    while (size > 0) {
        uint64_t segno = pgb_wal_segment_number(s->write_lsn, s->segment_size);
        uint64_t offset = s->write_lsn % s->segment_size;
        if (s->fd < 0) {
            int rc = open_segment(s, segno);
            if (rc != PGB_OK)
                return rc;
        }
        size_t chunk = size;
        if ((uint64_t)chunk > s->segment_size - offset)
            chunk = (size_t)(s->segment_size - offset);
        if (write_all(s->fd, data, chunk) != 0) {
            char partial[4096];
            segment_path(s, segno, 1, partial, sizeof(partial));
            return thread_error(s, PGB_EIO, NULL, "cannot write %s: %s", partial, strerror(errno));
        }
        s->write_lsn += chunk;
        data += chunk;
        size -= chunk;
        if (offset + chunk == s->segment_size) {
            int rc = complete_segment(s);
            if (rc != PGB_OK)
                return rc;
            s->flushed_lsn = s->write_lsn;
        }
    }
    pthread_mutex_lock(&s->lock);
    s->received_lsn = s->write_lsn;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return PGB_OK;
}

/* ---- the replication protocol (pg/replication.h) ---- */

/*
 * Standby status update: flushed is what is fsynced, since with a slot the
 * server may remove WAL below it.
 */
static int send_status(struct pgb_wal_streamer *s)
{
    if (s->fd >= 0 && s->flushed_lsn < s->write_lsn) {
        if (fdatasync(s->fd) != 0)
            return thread_error(s, PGB_EIO, NULL, "cannot fsync a WAL segment in %s: %s", s->spool_dir,
                                strerror(errno));
        s->flushed_lsn = s->write_lsn;
    }
    if (pgb_replication_send_status(s->conn, s->write_lsn, s->flushed_lsn) != 0)
        return thread_error(s, PGB_ECONNECTION, PQerrorMessage(s->conn), "cannot send a status update to PostgreSQL");
    s->last_status_ms = pgb_monotonic_ms();
    return PGB_OK;
}

static int handle_message(struct pgb_wal_streamer *s, const char *message, int length)
{
    struct pgb_replication_message m;
    const char *problem;
    if (pgb_replication_parse(message, length, &m, &problem) != 0)
        return thread_error(s, PGB_ECORRUPT, NULL, "%s (type 0x%02x)", problem, (unsigned char)message[0]);
    if (m.type == 'w')
        return write_wal(s, m.data_start, m.data, m.size);
    return m.reply_requested ? send_status(s) : PGB_OK;
}

static int stop_requested(struct pgb_wal_streamer *s)
{
    pthread_mutex_lock(&s->lock);
    int stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

static int stream(struct pgb_wal_streamer *s)
{
    char start[PGB_LSN_TEXT_SIZE], command[256];
    pgb_lsn_format(s->start_lsn, start);
    pgb_replication_start_command(s->slot_name, s->start_lsn, s->timeline, command, sizeof(command));
    PGresult *res = PQexec(s->conn, command);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        thread_error(s, PGB_ECONNECTION, res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn),
                     "PostgreSQL refused to stream WAL from %s on timeline %u", start, (unsigned)s->timeline);
        PQclear(res);
        return PGB_ECONNECTION;
    }
    PQclear(res);
    s->last_status_ms = pgb_monotonic_ms();
    int rc = PGB_OK;
    while (rc == PGB_OK && !stop_requested(s)) {
        char *message = NULL;
        int n = PQgetCopyData(s->conn, &message, 1);
        if (n > 0) {
            rc = handle_message(s, message, n);
            PQfreemem(message);
        } else if (n == 0) {
            if (pgb_replication_wait(s->conn, POLL_MS) != 0)
                return thread_error(s, PGB_ECONNECTION, PQerrorMessage(s->conn),
                                    "the replication connection broke while streaming WAL");
        } else if (n == -1) {
            /* A timeline switch or a server shutdown: either way the backup's WAL cannot be completed here. */
            char at[PGB_LSN_TEXT_SIZE];
            res = PQgetResult(s->conn);
            rc = thread_error(s, PGB_ECONNECTION, res ? PQresultErrorMessage(res) : "",
                              "PostgreSQL ended WAL streaming at %s (timeline switch or shutdown)",
                              pgb_lsn_format(s->write_lsn, at));
            PQclear(res);
            return rc;
        } else {
            return thread_error(s, PGB_ECONNECTION, PQerrorMessage(s->conn), "cannot read WAL from PostgreSQL");
        }
        if (rc == PGB_OK && pgb_monotonic_ms() - s->last_status_ms >= STATUS_INTERVAL_MS)
            rc = send_status(s);
    }
    if (rc == PGB_OK)
        pgb_replication_end_copy(s->conn, END_COPY_MS);
    return rc;
}

static void *streamer_thread(void *arg)
{
    struct pgb_wal_streamer *s = arg;
    stream(s);
    pthread_mutex_lock(&s->lock);
    s->thread_done = 1;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the handle ---- */

static int read_server_facts(pgb_wal_streamer *s)
{
    struct pgb_replication_system system;
    int rc = pgb_replication_identify(s->ctx, s->conn, &system);
    if (rc != PGB_OK)
        return rc;
    snprintf(s->system_identifier, sizeof(s->system_identifier), "%s", system.system_identifier);
    s->identified_timeline = system.timeline;
    s->segment_size = system.segment_size;
    return PGB_OK;
}

static int create_slot(pgb_wal_streamer *s)
{
    /* The backend PID makes the name unique among live sessions, like pg_basebackup_<pid>. */
    snprintf(s->slot_name, sizeof(s->slot_name), "pgbackup_%d", PQbackendPID(s->conn));
    char command[160];
    if (PQserverVersion(s->conn) >= 150000)
        snprintf(command, sizeof(command), "CREATE_REPLICATION_SLOT %s TEMPORARY PHYSICAL (RESERVE_WAL)",
                 s->slot_name);
    else
        snprintf(command, sizeof(command), "CREATE_REPLICATION_SLOT %s TEMPORARY PHYSICAL RESERVE_WAL",
                 s->slot_name);
    PGresult *res;
    int rc = pgb_pg_query(s->ctx, s->conn, command, &res);
    PQclear(res);
    return rc;
}

int pgb_wal_streamer_open(pgb_ctx *ctx, const char *conninfo, const char *spool_dir, pgb_wal_streamer **out)
{
    *out = NULL;
    struct stat st;
    if (!spool_dir || stat(spool_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pgb_error_set(ctx, PGB_ENOTFOUND, "the WAL spool directory %s does not exist",
                             spool_dir ? spool_dir : "(null)");
    if (!PQisthreadsafe())
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "this libpq is not thread-safe: WAL cannot be streamed in a thread");
    pgb_wal_streamer *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    s->ctx = ctx;
    s->fd = -1;
    s->timeout_ms = DEFAULT_TIMEOUT_MS;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->spool_dir = pgb_text_dup(spool_dir);
    int rc = s->spool_dir ? PGB_OK : pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = pgb_pg_connect(ctx, conninfo, PGB_PG_REPLICATION, &s->conn);
    if (rc == PGB_OK)
        rc = pgb_replication_check_version(ctx, s->conn, "stream WAL");
    if (rc == PGB_OK)
        rc = read_server_facts(s);
    if (rc == PGB_OK)
        rc = create_slot(s);
    if (rc != PGB_OK) {
        pgb_wal_streamer_free(s);
        return rc;
    }
    *out = s;
    return PGB_OK;
}

int pgb_wal_streamer_start(pgb_wal_streamer *s, uint64_t start_lsn, uint32_t tli)
{
    if (s->started)
        return pgb_error_set(s->ctx, PGB_EINVALID, "the WAL streamer was started already");
    if (tli == 0)
        return pgb_error_set(s->ctx, PGB_EINVALID, "cannot stream WAL of timeline 0");
    s->timeline = tli;
    /* Start at a segment boundary so that every file begins at its offset 0. */
    s->start_lsn = pgb_wal_segment_start(pgb_wal_segment_number(start_lsn, s->segment_size), s->segment_size);
    s->write_lsn = s->flushed_lsn = s->received_lsn = s->start_lsn;
    int error = pthread_create(&s->thread, NULL, streamer_thread, s);
    if (error != 0)
        return pgb_error_set(s->ctx, PGB_ERROR, "cannot start the WAL streaming thread: %s", strerror(error));
    s->started = 1;
    return PGB_OK;
}

static void stop_thread(pgb_wal_streamer *s)
{
    if (!s->started || s->joined)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->joined = 1;
}

/* Wait for the WAL below end_lsn, the thread's failure, the timeout or the cancel flag. */
static int wait_for(pgb_wal_streamer *s, uint64_t end_lsn)
{
    int rc = PGB_OK;
    pthread_mutex_lock(&s->lock);
    uint64_t seen = s->received_lsn, seen_at = pgb_monotonic_ms();
    while (s->received_lsn < end_lsn && !s->error_code && !s->thread_done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->changed, &s->lock, &until);
        uint64_t now = pgb_monotonic_ms();
        if (s->received_lsn != seen) {
            seen = s->received_lsn;
            seen_at = now;
        } else if (now - seen_at >= s->timeout_ms) {
            char at[PGB_LSN_TEXT_SIZE], want[PGB_LSN_TEXT_SIZE];
            pgb_lsn_format(seen, at);
            pgb_lsn_format(end_lsn, want);
            pthread_mutex_unlock(&s->lock);
            return pgb_error_set(s->ctx, PGB_ECONNECTION,
                                 "no WAL arrived from PostgreSQL for %llu s: have up to %s, need up to %s",
                                 (unsigned long long)(s->timeout_ms / 1000), at, want);
        }
        pthread_mutex_unlock(&s->lock);
        rc = pgb_check_canceled(s->ctx);
        pthread_mutex_lock(&s->lock);
        if (rc != PGB_OK)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/*
 * The segment of end_lsn - 1, usually incomplete: its bytes and zeros to the
 * full size, under its final name (pg_basebackup's walmethods pad the same way).
 */
static int pad_last_segment(pgb_wal_streamer *s)
{
    char partial[4096];
    segment_path(s, s->fd_segno, 1, partial, sizeof(partial));
    if (ftruncate(s->fd, (off_t)s->segment_size) != 0)
        return pgb_error_set(s->ctx, PGB_EIO, "cannot pad %s to the segment size: %s", partial, strerror(errno));
    int rc = complete_segment(s);
    if (rc != PGB_OK)
        return pgb_error_set(s->ctx, rc, "%s", s->error);
    s->last_padded = 1;
    return PGB_OK;
}

static int settle_spool(pgb_wal_streamer *s, uint64_t end_lsn)
{
    uint64_t start_segno = pgb_wal_segment_number(s->start_lsn, s->segment_size);
    uint64_t end_segno = pgb_wal_segment_of_end(end_lsn, s->segment_size);
    if (s->fd >= 0) {
        if (s->fd_segno == end_segno) {
            int rc = pad_last_segment(s);
            if (rc != PGB_OK)
                return rc;
        } else {
            char partial[4096];
            segment_path(s, s->fd_segno, 1, partial, sizeof(partial));
            close(s->fd);
            s->fd = -1;
            unlink(partial);
        }
    }
    size_t needed = (size_t)(end_segno - start_segno + 1);
    /* Segments the server sent after the backup's end are not this backup's. */
    while (s->name_count > needed) {
        char path[4096];
        char *name = s->names[--s->name_count];
        snprintf(path, sizeof(path), "%s/%s", s->spool_dir, name);
        unlink(path);
        free(name);
    }
    if (s->name_count != needed) {
        char want[PGB_WAL_NAME_SIZE];
        return pgb_error_set(s->ctx, PGB_ECORRUPT, "the WAL spool %s lacks segment %s", s->spool_dir,
                             pgb_wal_segment_name(s->timeline, start_segno + s->name_count, s->segment_size, want));
    }
    return PGB_OK;
}

static void close_connection(pgb_wal_streamer *s)
{
    if (!s->conn)
        return;
    /*
     * The temporary slot would go with the session anyway, but only once the
     * walsender has exited; dropping it here makes it gone when we return.
     */
    if (s->slot_name[0] && PQtransactionStatus(s->conn) == PQTRANS_IDLE) {
        char command[96];
        snprintf(command, sizeof(command), "DROP_REPLICATION_SLOT %s", s->slot_name);
        PQclear(PQexec(s->conn, command));
    }
    PQfinish(s->conn);
    s->conn = NULL;
}

int pgb_wal_streamer_finish(pgb_wal_streamer *s, uint64_t end_lsn, const char *const **segment_names,
                            size_t *segment_count)
{
    *segment_names = NULL;
    *segment_count = 0;
    if (!s->started || s->finished)
        return pgb_error_set(s->ctx, PGB_EINVALID, "pgb_wal_streamer_finish called on a streamer %s",
                             s->started ? "already finished" : "not started");
    if (end_lsn <= s->start_lsn) {
        char end[PGB_LSN_TEXT_SIZE], start[PGB_LSN_TEXT_SIZE];
        return pgb_error_set(s->ctx, PGB_EINVALID, "the end position %s is not after the streaming start %s",
                             pgb_lsn_format(end_lsn, end), pgb_lsn_format(s->start_lsn, start));
    }
    s->finished = 1;
    int rc = wait_for(s, end_lsn);
    stop_thread(s);
    if (rc == PGB_OK && s->error_code) {
        rc = pgb_error_set(s->ctx, s->error_code, "WAL streaming from PostgreSQL failed: %s", s->error);
        if (s->error_detail[0])
            pgb_error_set_detail(s->ctx, "%s", s->error_detail);
    }
    if (rc == PGB_OK && s->received_lsn < end_lsn)
        rc = pgb_error_set(s->ctx, PGB_ECONNECTION, "WAL streaming stopped before the backup's end");
    if (rc == PGB_OK)
        rc = settle_spool(s, end_lsn);
    close_connection(s);
    if (rc == PGB_OK) {
        *segment_names = (const char *const *)s->names;
        *segment_count = s->name_count;
    }
    return rc;
}

void pgb_wal_streamer_free(pgb_wal_streamer *s)
{
    if (!s)
        return;
    stop_thread(s);
    if (s->fd >= 0)
        close(s->fd);
    close_connection(s);
    for (size_t i = 0; i < s->name_count; i++)
        free(s->names[i]);
    free(s->names);
    free(s->spool_dir);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void pgb_wal_streamer_set_timeout(pgb_wal_streamer *s, uint64_t timeout_ms)
{
    s->timeout_ms = timeout_ms;
}

uint64_t pgb_wal_streamer_segment_size(const pgb_wal_streamer *s)
{
    return s->segment_size;
}

const char *pgb_wal_streamer_system_identifier(const pgb_wal_streamer *s)
{
    return s->system_identifier;
}

uint32_t pgb_wal_streamer_timeline(const pgb_wal_streamer *s)
{
    return s->identified_timeline;
}

const char *pgb_wal_streamer_slot_name(const pgb_wal_streamer *s)
{
    return s->slot_name;
}

int pgb_wal_streamer_last_segment_padded(const pgb_wal_streamer *s)
{
    return s->last_padded;
}
