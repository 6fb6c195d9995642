/*
 * One listing of "<cluster>/wal/", sorted into segments per timeline and
 * history files.
 */
#include "wal/wal_archive_index.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pg/lsn.h"
#include "pipeline/object.h"
#include "storage/storage.h"
#include "wal/wal_file.h"

struct listing {
    struct pgb_wal_archive_index *index;
    size_t segment_room, history_room;
    int failed;
};

static int add_segment(struct listing *l, uint32_t timeline, uint64_t segno, int state)
{
    struct pgb_wal_archive_index *x = l->index;
    if (x->count == l->segment_room) {
        size_t room = l->segment_room ? 2 * l->segment_room : 256;
        struct pgb_archived_segment *grown = realloc(x->segments, room * sizeof(*grown));
        if (!grown)
            return -1;
        x->segments = grown;
        l->segment_room = room;
    }
    x->segments[x->count++] = (struct pgb_archived_segment){timeline, segno, state};
    return 0;
}

static int add_history(struct listing *l, uint32_t timeline)
{
    struct pgb_wal_archive_index *x = l->index;
    if (x->history_count == l->history_room) {
        size_t room = l->history_room ? 2 * l->history_room : 16;
        uint32_t *grown = realloc(x->histories, room * sizeof(*grown));
        if (!grown)
            return -1;
        x->histories = grown;
        l->history_room = room;
    }
    x->histories[x->history_count++] = timeline;
    return 0;
}

static int each_key(const char *key, uint64_t size, void *payload)
{
    (void)size;
    struct listing *l = payload;
    const char *slash = strrchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".sum") == 0)
        return 0;
    int kind = 0;
    uint32_t timeline = 0;
    uint64_t segno = 0;
    if (len > PGB_WAL_FILE_NAME_MAX || pgb_wal_file_classify(NULL, NULL, name, &kind, &timeline) != PGB_OK)
        return 0;
    char segment[PGB_WAL_NAME_SIZE];
    int rc = 0;
    if (kind == PGB_WAL_FILE_HISTORY) {
        rc = add_history(l, timeline);
    } else if (kind == PGB_WAL_FILE_SEGMENT || kind == PGB_WAL_FILE_PARTIAL) {
        snprintf(segment, sizeof(segment), "%.24s", name);
        if (pgb_wal_segment_name_parse(NULL, segment, l->index->segment_size, &timeline, &segno) == PGB_OK)
            rc = add_segment(l, timeline, segno, kind == PGB_WAL_FILE_SEGMENT ? PGB_ARCHIVED_COMPLETE
                                                                              : PGB_ARCHIVED_PARTIAL);
    }
    if (rc != 0)
        l->failed = 1;
    return rc;
}

static int by_segment(const void *a, const void *b)
{
    const struct pgb_archived_segment *x = a, *y = b;
    if (x->timeline != y->timeline)
        return x->timeline < y->timeline ? -1 : 1;
    if (x->segno != y->segno)
        return x->segno < y->segno ? -1 : 1;
    return x->state - y->state; /* complete before partial */
}

static int by_timeline(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int pgb_wal_archive_index_load(struct pgb_repo *repo, uint64_t segment_size, struct pgb_wal_archive_index *out)
{
    memset(out, 0, sizeof(*out));
    out->segment_size = segment_size;
    if (!pgb_wal_segment_size_valid(segment_size))
        return pgb_error_set(repo->ctx, PGB_EINVALID, "WAL segment size %" PRIu64 " is not one PostgreSQL can have",
                             segment_size);
    char prefix[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "wal/", prefix);
    struct listing l = {out, 0, 0, 0};
    int rc = pgb_storage_list(repo->storage, prefix, each_key, &l);
    if (l.failed)
        rc = pgb_error_nomem(repo->ctx);
    if (rc != PGB_OK) {
        pgb_wal_archive_index_clear(out);
        return rc;
    }
    if (out->count)
        qsort(out->segments, out->count, sizeof(*out->segments), by_segment);
    if (out->history_count)
        qsort(out->histories, out->history_count, sizeof(*out->histories), by_timeline);
    return PGB_OK;
}

/* Index of the first entry at or after (timeline, segno). */
static size_t lower_bound(const struct pgb_wal_archive_index *x, uint32_t timeline, uint64_t segno)
{
    size_t lo = 0, hi = x->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct pgb_archived_segment *s = &x->segments[mid];
        if (s->timeline < timeline || (s->timeline == timeline && s->segno < segno))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int pgb_wal_archive_state(const struct pgb_wal_archive_index *x, uint32_t timeline, uint64_t segno)
{
    size_t i = lower_bound(x, timeline, segno);
    if (i < x->count && x->segments[i].timeline == timeline && x->segments[i].segno == segno)
        return x->segments[i].state;
    return PGB_ARCHIVED_NONE;
}

int pgb_wal_archive_last(const struct pgb_wal_archive_index *x, uint32_t timeline, uint64_t *segno)
{
    size_t i = timeline == UINT32_MAX ? x->count : lower_bound(x, timeline + 1, 0);
    if (i == 0 || x->segments[i - 1].timeline != timeline)
        return 0;
    *segno = x->segments[i - 1].segno;
    return 1;
}

int pgb_wal_archive_has_history(const struct pgb_wal_archive_index *x, uint32_t timeline)
{
    return x->history_count &&
           bsearch(&timeline, x->histories, x->history_count, sizeof(*x->histories), by_timeline) != NULL;
}

uint32_t pgb_wal_archive_latest_timeline(const struct pgb_wal_archive_index *x, uint32_t timeline)
{
    while (timeline < UINT32_MAX && pgb_wal_archive_has_history(x, timeline + 1))
        timeline++;
    return timeline;
}

int pgb_wal_archive_read_history(struct pgb_repo *repo, uint32_t timeline, char **text)
{
    char name[PGB_WAL_FILE_NAME_MAX + 1], key[PGB_KEY_SIZE];
    snprintf(name, sizeof(name), "%08" PRIX32 ".history", timeline);
    pgb_wal_archive_key(repo, name, timeline, key);
    void *data = NULL;
    size_t size = 0;
    int rc = pgb_object_get(repo->storage, key, &repo->keys, &data, &size);
    if (rc != PGB_OK)
        return rc;
    char *copy = malloc(size + 1);
    if (!copy) {
        free(data);
        return pgb_error_nomem(repo->ctx);
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    free(data);
    *text = copy;
    return PGB_OK;
}

void pgb_wal_archive_index_clear(struct pgb_wal_archive_index *x)
{
    free(x->segments);
    free(x->histories);
    memset(x, 0, sizeof(*x));
}
