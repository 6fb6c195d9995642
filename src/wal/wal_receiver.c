/*
 * The WAL receiver's handle and its run loop: sessions one after another,
 * with a growing pause between them, until a stop. A stop is a flag that a
 * signal handler may set; the session looks at it at least every 100 ms.
 */
#include "wal/wal_receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/progress.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "pipeline/compress.h"
#include "wal/wal_file.h"

enum receiver_state { RECEIVER_NEW, RECEIVER_RUNNING, RECEIVER_DONE };

enum {
    FIRST_RETRY_MS = 1000,
    LAST_RETRY_MS = 30000,
    SLOT_NAME_MAX = 63, /* NAMEDATALEN - 1 */
    DEFAULT_STATUS_INTERVAL_S = 10,
    DEFAULT_PARTIAL_INTERVAL_MS = 1000
};

static int is_receiver(const struct pgb_wal_receiver *r)
{
    return r && r->magic == PGB_MAGIC_WAL_RECEIVER && pgb_ctx_is_valid(r->ctx);
}

int pgb_wal_receiver_stopping(struct pgb_wal_receiver *r)
{
    return atomic_load(&r->stop) || pgb_ctx_is_canceled(r->ctx);
}

/* PostgreSQL's rule for slot names (ReplicationSlotValidateName): lower-case letters, digits, underscores. */
static int valid_slot_name(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > SLOT_NAME_MAX)
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return 0;
    return 1;
}

static void default_slot_name(const char *cluster, char out[SLOT_NAME_MAX + 1])
{
    int used = snprintf(out, SLOT_NAME_MAX + 1, "pgbackup_");
    for (const char *c = cluster; *c && used < SLOT_NAME_MAX; c++) {
        char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
        out[used++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '_';
    }
    out[used] = '\0';
}

static int read_options(struct pgb_wal_receiver *r, const pgb_options *opts)
{
    const char *conninfo = NULL, *slot = NULL, *compress = NULL;
    int64_t status_interval = DEFAULT_STATUS_INTERVAL_S, partial_interval = DEFAULT_PARTIAL_INTERVAL_MS;
    if (opts) {
        pgb_options_get(opts, "pg", &conninfo);
        pgb_options_get(opts, "slot", &slot);
        pgb_options_get(opts, "compress", &compress);
        pgb_options_get_int(opts, "status-interval", &status_interval);
        pgb_options_get_int(opts, "partial-interval", &partial_interval);
    }
    if (conninfo && !(r->conninfo = pgb_text_dup(conninfo)))
        return pgb_error_nomem(r->ctx);
    if (slot && !valid_slot_name(slot))
        return pgb_error_set(r->ctx, PGB_EINVALID, "'%s' cannot name a replication slot: use 1 to %d lower-case "
                             "letters, digits and underscores", slot, SLOT_NAME_MAX);
    if (slot)
        snprintf(r->slot, sizeof(r->slot), "%s", slot);
    else
        default_slot_name(r->repo->cluster, r->slot);
    r->status_interval_ms = (uint64_t)status_interval * 1000;
    r->partial_interval_ms = (uint64_t)partial_interval;
    r->spec = (struct pgb_object_spec){.seal = PGB_SEAL_REPOSITORY};
    return pgb_codec_parse(r->ctx, compress ? compress : "zstd:3", &r->spec.codec, &r->spec.level);
}

int pgb_wal_receiver_new(pgb_wal_receiver **out, pgb_repo *repo, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (!out)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "pgb_wal_receiver_new: out is NULL");
    *out = NULL;
    struct pgb_wal_receiver *r = calloc(1, sizeof(*r));
    if (!r)
        return pgb_error_nomem(repo->ctx);
    r->magic = PGB_MAGIC_WAL_RECEIVER;
    r->ctx = repo->ctx;
    r->repo = repo;
    r->store.fd = -1;
    atomic_init(&r->stop, 0);
    atomic_init(&r->received_lsn, 0);
    atomic_init(&r->flushed_lsn, 0);
    atomic_init(&r->timeline, 0);
    int rc = read_options(r, opts);
    if (rc == PGB_OK)
        rc = pgb_wal_check_cluster(repo);
    if (rc != PGB_OK) {
        pgb_wal_receiver_free(r);
        return rc;
    }
    *out = r;
    return PGB_OK;
}

/* Disconnects and repository hiccups pass; a wrong server, a conflict or a bad setting do not. */
static int retryable(const struct pgb_wal_receiver *r, int rc)
{
    return (rc == PGB_ECONNECTION || rc == PGB_EIO) && r->streamed;
}

static void pause_unless_stopped(struct pgb_wal_receiver *r, uint64_t ms)
{
    uint64_t until = pgb_monotonic_ms() + ms;
    while (!pgb_wal_receiver_stopping(r) && pgb_monotonic_ms() < until) {
        struct timespec step = {0, 100 * 1000000L};
        nanosleep(&step, NULL);
    }
}

static void log_retry(struct pgb_wal_receiver *r, uint64_t wait_ms)
{
    char detail[512];
    snprintf(detail, sizeof(detail), "%s", pgb_ctx_errdetail(r->ctx));
    pgb_text_trim(detail);
    pgb_log(r->ctx, PGB_LOG_WARNING, "receiving WAL was interrupted: %s%s%s; trying again in %llu s",
            pgb_ctx_errmsg(r->ctx), detail[0] ? ": " : "", detail, (unsigned long long)(wait_ms / 1000));
    pgb_error_clear(r->ctx);
}

int pgb_wal_receiver_run(pgb_wal_receiver *r)
{
    if (!is_receiver(r))
        return PGB_EINVALID;
    pgb_error_clear(r->ctx);
    if (r->state != RECEIVER_NEW)
        return pgb_error_set(r->ctx, PGB_EINVALID, "pgb_wal_receiver_run called on a receiver that %s: make a new "
                             "one, it resumes where the repository ends",
                             r->state == RECEIVER_RUNNING ? "is running" : "has run");
    r->state = RECEIVER_RUNNING;
    uint64_t wait_ms = FIRST_RETRY_MS;
    int rc = PGB_OK;
    while (!pgb_wal_receiver_stopping(r)) {
        uint64_t received_before = atomic_load(&r->received_lsn);
        rc = pgb_wal_receive_session(r);
        if (rc == PGB_OK || !retryable(r, rc))
            break;
        if (atomic_load(&r->received_lsn) != received_before)
            wait_ms = FIRST_RETRY_MS;
        log_retry(r, wait_ms);
        rc = PGB_OK;
        pause_unless_stopped(r, wait_ms);
        wait_ms = wait_ms * 2 > LAST_RETRY_MS ? LAST_RETRY_MS : wait_ms * 2;
    }
    /* Stopped between sessions: what was received but not stored still goes into the repository. */
    if (rc == PGB_OK)
        rc = pgb_wal_receive_store_pending(r);
    if (rc == PGB_OK && pgb_ctx_is_canceled(r->ctx))
        rc = pgb_error_set(r->ctx, PGB_ECANCELED, "receiving WAL was canceled");
    pgb_wal_store_close(&r->store);
    r->state = RECEIVER_DONE;
    pgb_ctx_reset_cancel(r->ctx);
    return rc;
}

int pgb_wal_receiver_stop(pgb_wal_receiver *r)
{
    if (!r || r->magic != PGB_MAGIC_WAL_RECEIVER)
        return PGB_EINVALID;
    atomic_store(&r->stop, 1);
    return PGB_OK;
}

uint64_t pgb_wal_receiver_received_lsn(const pgb_wal_receiver *r)
{
    return r && r->magic == PGB_MAGIC_WAL_RECEIVER ? atomic_load(&((pgb_wal_receiver *)r)->received_lsn) : 0;
}

uint64_t pgb_wal_receiver_flushed_lsn(const pgb_wal_receiver *r)
{
    return r && r->magic == PGB_MAGIC_WAL_RECEIVER ? atomic_load(&((pgb_wal_receiver *)r)->flushed_lsn) : 0;
}

uint32_t pgb_wal_receiver_timeline(const pgb_wal_receiver *r)
{
    return r && r->magic == PGB_MAGIC_WAL_RECEIVER ? atomic_load(&((pgb_wal_receiver *)r)->timeline) : 0;
}

const char *pgb_wal_receiver_slot(const pgb_wal_receiver *r)
{
    return r && r->magic == PGB_MAGIC_WAL_RECEIVER ? r->slot : NULL;
}

void pgb_wal_receiver_free(pgb_wal_receiver *r)
{
    if (!r || r->magic != PGB_MAGIC_WAL_RECEIVER)
        return;
    pgb_wal_store_close(&r->store);
    free(r->conninfo);
    r->magic = PGB_MAGIC_FREED;
    free(r);
}
