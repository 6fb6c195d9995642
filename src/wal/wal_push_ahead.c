#include "wal/wal_push_ahead.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "wal/wal_batch.h"
#include "wal/wal_push.h"

enum { SEGMENT_NAME_LENGTH = 24, DEFAULT_AHEAD_PER_JOB = 4 };

struct pgb_wal_push_ahead {
    pgb_ctx *ctx;
    char *folder; /* the folder of the file pushed: pg_wal */
    const struct pgb_object_spec *spec;
    const struct pgb_wal_spool *spool;
    struct pgb_wal_batch_item *items;
    size_t count;
    struct pgb_wal_batch *batch;
};

static void free_ahead(struct pgb_wal_push_ahead *a)
{
    free(a->items);
    free(a->folder);
    free(a);
}

static int is_upper_hex(const char *text, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'A' && text[i] <= 'F')))
            return 0;
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct pgb_wal_batch_item *)a)->name, ((const struct pgb_wal_batch_item *)b)->name);
}

/*
 * The segments with a .ready file whose names sort after name, in order:
 * the server marks a segment ready once it is complete and never changes it
 * again, nor removes it before its own archive_command call has succeeded.
 */
static int list_ready(struct pgb_wal_push_ahead *a, const char *name, size_t *found)
{
    *found = 0;
    char *status = pgb_text_printf("%s/archive_status", a->folder);
    DIR *dir = status ? opendir(status) : NULL;
    free(status);
    if (!dir)
        return PGB_OK; /* not a pg_wal folder, or nothing ready: nothing to push ahead */
    size_t capacity = 0;
    int rc = PGB_OK;
    struct dirent *e;
    while (rc == PGB_OK && (e = readdir(dir)) != NULL) {
        if (strlen(e->d_name) != SEGMENT_NAME_LENGTH + strlen(".ready") ||
            strcmp(e->d_name + SEGMENT_NAME_LENGTH, ".ready") != 0 || !is_upper_hex(e->d_name, SEGMENT_NAME_LENGTH) ||
            strncmp(e->d_name, name, SEGMENT_NAME_LENGTH) <= 0)
            continue;
        if (*found == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            void *grown = realloc(a->items, capacity * sizeof(*a->items));
            if (!grown) {
                rc = PGB_ENOMEM;
                break;
            }
            a->items = grown;
        }
        struct pgb_wal_batch_item *item = &a->items[(*found)++];
        memset(item, 0, sizeof(*item));
        memcpy(item->name, e->d_name, SEGMENT_NAME_LENGTH);
    }
    closedir(dir);
    if (rc == PGB_OK && *found > 1)
        qsort(a->items, *found, sizeof(*a->items), by_name);
    return rc;
}

static int push_one(struct pgb_repo *worker, const char *name, void *payload)
{
    struct pgb_wal_push_ahead *a = payload;
    char *path = pgb_text_printf("%s/%s", a->folder, name);
    if (!path)
        return pgb_error_nomem(worker->ctx);
    struct pgb_wal_sum pushed = {0};
    int rc = pgb_wal_push_file(worker, path, a->spec, &pushed);
    free(path);
    char why[512];
    if (rc == PGB_OK && (rc = pgb_wal_spool_mark(a->spool, PGB_WAL_SPOOL_PUSHED, name, &pushed, why,
                                                 sizeof(why))) != PGB_OK)
        pgb_error_set(worker->ctx, rc, "%s", why);
    return rc;
}

static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return pgb_text_dup(".");
    return slash == path ? pgb_text_dup("/") : pgb_text_printf("%.*s", (int)(slash - path), path);
}

struct pgb_wal_push_ahead *pgb_wal_push_ahead_start(struct pgb_repo *repo, const char *path,
                                                    const struct pgb_object_spec *spec,
                                                    const struct pgb_wal_spool *spool, const pgb_options *opts)
{
    int64_t jobs = 1, limit = 0;
    if (!opts || pgb_options_get_int(opts, "jobs", &jobs) != PGB_OK || jobs < 2)
        return NULL;
    if (pgb_options_get_int(opts, "push-ahead", &limit) != PGB_OK || limit < 1)
        limit = DEFAULT_AHEAD_PER_JOB * jobs;
    struct pgb_wal_push_ahead *a = calloc(1, sizeof(*a));
    if (!a || !(a->folder = folder_of(path))) {
        free(a);
        pgb_log(repo->ctx, PGB_LOG_WARNING, "push-ahead does not run: out of memory");
        return NULL;
    }
    a->ctx = repo->ctx;
    a->spec = spec;
    a->spool = spool;
    const char *slash = strrchr(path, '/');
    size_t ready = 0;
    if (list_ready(a, slash ? slash + 1 : path, &ready) != PGB_OK) {
        pgb_log(repo->ctx, PGB_LOG_WARNING, "push-ahead does not run: out of memory");
        free_ahead(a);
        return NULL;
    }
    /* The first ones not pushed ahead already: a marker of this spool says the segment is archived. */
    for (size_t i = 0; i < ready && a->count < (size_t)limit; i++) {
        struct pgb_wal_sum marked;
        if (!pgb_wal_spool_marked(spool, PGB_WAL_SPOOL_PUSHED, a->items[i].name, &marked))
            a->items[a->count++] = a->items[i];
    }
    char why[512];
    if (a->count > 0 && pgb_wal_spool_create(spool, why, sizeof(why)) != PGB_OK) {
        pgb_log(repo->ctx, PGB_LOG_WARNING, "push-ahead does not run: %s", why);
        a->count = 0;
    }
    if (a->count > 0)
        a->batch = pgb_wal_batch_start(repo, (int)jobs, a->items, a->count, 0, push_one, a, "push-ahead");
    if (!a->batch) {
        free_ahead(a);
        return NULL;
    }
    return a;
}

void pgb_wal_push_ahead_finish(struct pgb_wal_push_ahead *a)
{
    if (!a)
        return;
    pgb_wal_batch_finish(a->batch);
    size_t pushed = 0;
    for (size_t i = 0; i < a->count; i++) {
        const struct pgb_wal_batch_item *item = &a->items[i];
        if (item->rc == PGB_OK)
            pushed++;
        else if (item->rc != PGB_WAL_BATCH_SKIPPED)
            pgb_log(a->ctx, PGB_LOG_WARNING, "could not push WAL segment %s ahead (the server's own call for it "
                    "will): %s", item->name, item->why);
    }
    pgb_log(a->ctx, PGB_LOG_DEBUG, "pushed %zu of %zu ready WAL segments ahead, from %s to %s", pushed, a->count,
            a->items[0].name, a->items[a->count - 1].name);
    free_ahead(a);
}
