#include "wal/wal_receive_scan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "pg/lsn.h"
#include "storage/storage.h"
#include "wal/wal_file.h"
#include "wal/wal_sum.h"

enum { SEGMENT_NAME_LENGTH = 24 };

struct partial {
    uint32_t timeline;
    uint64_t segno;
};

struct scan {
    struct pgb_repo *repo;
    uint64_t segment_size;
    uint32_t max_timeline;
    size_t prefix_length;
    struct pgb_wal_receive_start best;
    struct partial *partials;
    size_t partial_count, partial_capacity;
    int out_of_memory;
};

static void consider(struct scan *s, uint32_t timeline, uint64_t end, uint64_t partial_end)
{
    struct pgb_wal_receive_start *b = &s->best;
    if (b->found && (end < b->end || (end == b->end && timeline <= b->timeline)))
        return;
    *b = (struct pgb_wal_receive_start){.found = 1, .timeline = timeline, .end = end, .partial_end = partial_end};
}

static int add_partial(struct scan *s, uint32_t timeline, uint64_t segno)
{
    if (s->partial_count == s->partial_capacity) {
        size_t capacity = s->partial_capacity ? 2 * s->partial_capacity : 8;
        struct partial *grown = realloc(s->partials, capacity * sizeof(*grown));
        if (!grown)
            return -1;
        s->partials = grown;
        s->partial_capacity = capacity;
    }
    s->partials[s->partial_count++] = (struct partial){timeline, segno};
    return 0;
}

/* Keys are "<cluster>/wal/TTTTTTTT/<name>": segments and partial segments count, the rest is passed over. */
static int each_key(const char *key, uint64_t size, void *payload)
{
    (void)size;
    struct scan *s = payload;
    const char *slash = strchr(key + s->prefix_length, '/');
    if (!slash)
        return 0;
    const char *name = slash + 1;
    size_t length = strlen(name);
    int partial = length == SEGMENT_NAME_LENGTH + 8 && strcmp(name + SEGMENT_NAME_LENGTH, ".partial") == 0;
    if (length != SEGMENT_NAME_LENGTH && !partial)
        return 0;
    char segment[SEGMENT_NAME_LENGTH + 1];
    memcpy(segment, name, SEGMENT_NAME_LENGTH);
    segment[SEGMENT_NAME_LENGTH] = '\0';
    uint32_t timeline;
    uint64_t segno;
    if (pgb_wal_segment_name_parse(NULL, segment, s->segment_size, &timeline, &segno) != PGB_OK ||
        timeline > s->max_timeline)
        return 0;
    if (!partial)
        consider(s, timeline, pgb_wal_segment_start(segno + 1, s->segment_size), 0);
    else if (add_partial(s, timeline, segno) != 0)
        s->out_of_memory = 1;
    return s->out_of_memory;
}

/* A receiver's partial: how far its WAL reaches, or why it no longer counts. */
static int look_at_partial(struct scan *s, const struct partial *p)
{
    struct pgb_repo *repo = s->repo;
    char segment[PGB_WAL_NAME_SIZE], name[PGB_WAL_FILE_NAME_MAX + 1], key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    pgb_wal_segment_name(p->timeline, p->segno, s->segment_size, segment);
    snprintf(name, sizeof(name), "%s.partial", segment);
    pgb_wal_archive_key(repo, name, p->timeline, key);
    pgb_wal_sum_key(key, sum_key);
    struct pgb_wal_sum sum;
    uint64_t received_end = 0;
    int rc = pgb_wal_sum_read_received(repo, sum_key, name, &sum, &received_end);
    if (rc == PGB_ENOTFOUND) { /* being removed, or a push died before its record: not ours either way */
        pgb_error_clear(repo->ctx);
        return PGB_OK;
    }
    if (rc != PGB_OK || received_end == 0)
        return rc;
    char complete[PGB_KEY_SIZE];
    pgb_wal_archive_key(repo, segment, p->timeline, complete);
    rc = pgb_storage_stat(repo->storage, complete, NULL);
    if (rc == PGB_ENOTFOUND) {
        pgb_error_clear(repo->ctx);
        consider(s, p->timeline, received_end, received_end);
        return PGB_OK;
    }
    if (rc != PGB_OK)
        return rc;
    /* archive_command stored the segment while the receiver was away: its partial has had its day. */
    rc = pgb_storage_remove(repo->storage, sum_key);
    if (rc == PGB_OK)
        rc = pgb_storage_remove(repo->storage, key);
    if (rc == PGB_OK)
        pgb_log(repo->ctx, PGB_LOG_INFO, "removed %s: its segment is archived complete", name);
    return rc;
}

int pgb_wal_receive_scan(struct pgb_repo *repo, uint64_t segment_size, uint32_t max_timeline,
                         struct pgb_wal_receive_start *out)
{
    *out = (struct pgb_wal_receive_start){0};
    char prefix[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "wal/", prefix);
    struct scan s = {.repo = repo, .segment_size = segment_size, .max_timeline = max_timeline,
                     .prefix_length = strlen(prefix)};
    int rc = pgb_storage_list(repo->storage, prefix, each_key, &s);
    if (s.out_of_memory)
        rc = pgb_error_nomem(repo->ctx);
    for (size_t i = 0; rc == PGB_OK && i < s.partial_count; i++)
        rc = look_at_partial(&s, &s.partials[i]);
    free(s.partials);
    if (rc == PGB_OK)
        *out = s.best;
    return rc;
}
