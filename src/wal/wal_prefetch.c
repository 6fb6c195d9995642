#include "wal/wal_prefetch.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "pg/lsn.h"
#include "wal/wal_batch.h"
#include "wal/wal_read.h"

struct pgb_wal_prefetch {
    pgb_ctx *ctx;
    const struct pgb_wal_spool *spool;
    uint32_t timeline;
    struct pgb_wal_batch_item *items;
    size_t count;
    struct pgb_wal_batch *batch;
};

/* Fetch one complete segment into the spool, then mark it. */
static int fetch_one(struct pgb_repo *worker, const char *name, void *payload)
{
    struct pgb_wal_prefetch *p = payload;
    struct pgb_wal_archived found;
    pgb_object_reader *reader = NULL;
    int rc = pgb_wal_archived_open(worker, name, p->timeline, &found, &reader);
    if (rc != PGB_OK)
        return rc;
    char *segment = pgb_wal_spool_path(p->spool, name, ".segment");
    struct pgb_wal_sum copied = {0};
    rc = segment ? pgb_wal_archived_copy(worker, reader, &found, segment, &copied) : pgb_error_nomem(worker->ctx);
    pgb_object_reader_close(reader);
    char why[512];
    if (rc == PGB_OK &&
        (rc = pgb_wal_spool_mark(p->spool, PGB_WAL_SPOOL_FETCHED, name, &copied, why, sizeof(why))) != PGB_OK)
        pgb_error_set(worker->ctx, rc, "%s", why);
    free(segment);
    return rc;
}

struct pgb_wal_prefetch *pgb_wal_prefetch_start(struct pgb_repo *repo, const char *name, uint64_t segment_size,
                                                const struct pgb_wal_spool *spool, int count)
{
    uint64_t segno = 0;
    uint32_t timeline = 0;
    if (count < 1 || pgb_wal_segment_name_parse(NULL, name, segment_size, &timeline, &segno) != PGB_OK)
        return NULL;
    struct pgb_wal_prefetch *p = calloc(1, sizeof(*p));
    if (p)
        p->items = calloc((size_t)count, sizeof(*p->items));
    if (!p || !p->items) {
        free(p);
        pgb_log(repo->ctx, PGB_LOG_WARNING, "prefetch does not run: out of memory");
        return NULL;
    }
    p->ctx = repo->ctx;
    p->spool = spool;
    p->timeline = timeline;
    for (int i = 1; i <= count; i++) {
        char next[PGB_WAL_NAME_SIZE];
        struct pgb_wal_sum held;
        pgb_wal_segment_name(timeline, segno + (uint64_t)i, segment_size, next);
        if (!pgb_wal_spool_marked(spool, PGB_WAL_SPOOL_FETCHED, next, &held))
            memcpy(p->items[p->count++].name, next, sizeof(next));
    }
    char why[512];
    if (p->count > 0 && pgb_wal_spool_create(spool, why, sizeof(why)) != PGB_OK) {
        pgb_log(repo->ctx, PGB_LOG_WARNING, "prefetch does not run: %s", why);
        p->count = 0;
    }
    int threads = p->count < PGB_WAL_PREFETCH_MAX_THREADS ? (int)p->count : PGB_WAL_PREFETCH_MAX_THREADS;
    if (p->count > 0)
        p->batch = pgb_wal_batch_start(repo, threads, p->items, p->count, 1, fetch_one, p, "prefetch");
    if (!p->batch) {
        free(p->items);
        free(p);
        return NULL;
    }
    return p;
}

void pgb_wal_prefetch_finish(struct pgb_wal_prefetch *p)
{
    if (!p)
        return;
    pgb_wal_batch_finish(p->batch);
    size_t fetched = 0;
    for (size_t i = 0; i < p->count; i++) {
        const struct pgb_wal_batch_item *item = &p->items[i];
        if (item->rc == PGB_OK)
            fetched++;
        else if (item->rc == PGB_ENOTFOUND)
            pgb_log(p->ctx, PGB_LOG_DEBUG, "prefetch stopped at WAL segment %s: not archived", item->name);
        else if (item->rc != PGB_WAL_BATCH_SKIPPED)
            pgb_log(p->ctx, PGB_LOG_WARNING, "could not prefetch WAL segment %s (it is fetched when recovery asks "
                    "for it): %s", item->name, item->why);
    }
    pgb_log(p->ctx, PGB_LOG_DEBUG, "prefetched %zu of %zu WAL segments after the one requested", fetched, p->count);
    free(p->items);
    free(p);
}
