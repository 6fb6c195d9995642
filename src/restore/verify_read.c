/*
 * Reading a physical backup back for verify: every WAL segment its manifest
 * needs, every chunk of a chained file on its own (so one large file keeps
 * every worker busy) and every other regular file whole, on jobs workers,
 * each outcome into its item's slot. Damage is an outcome, not an error.
 */
#include "restore/verify_read.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>
#include <pgbackup/progress.h>

#include "core/error.h"
#include "core/text.h"
#include "core/worker_pool.h"
#include "pipeline/chunk_decompress.h"
#include "repo/chunk_check.h"
#include "repo/content_writer.h"
#include "repo/pack.h"
#include "restore/read_workers.h"

#define READ_BUFFER_SIZE PGB_CHUNK_SIZE /* a whole chunk, and one byte to catch a longer one */

/*
 * Read every chunk of e through buffer (READ_BUFFER_SIZE bytes); *digest gets the SHA-256 of what came back.
 * A failure is a finding, not an error. For files without links (format 1) and empty files.
 */
static int read_file(struct pgb_repo *repo, const struct pgb_file_entry *e, uint8_t *buffer, uint8_t digest[32],
                     char *why, size_t why_size)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? PGB_OK : pgb_error_nomem(repo->ctx);
    for (size_t i = 0; rc == PGB_OK && i < e->chunk_count; i++) {
        pgb_object_reader *r = NULL;
        rc = pgb_chunk_reader_open(&r, repo, &e->chunks[i].ref);
        size_t got = 0;
        while (rc == PGB_OK && (rc = pgb_object_reader_read(r, buffer, READ_BUFFER_SIZE, &got)) == PGB_OK && got)
            EVP_DigestUpdate(md, buffer, got);
        pgb_object_reader_close(r);
    }
    unsigned int size = 0;
    if (rc == PGB_OK)
        EVP_DigestFinal_ex(md, digest, &size);
    else
        snprintf(why, why_size, "%s", pgb_ctx_errmsg(repo->ctx));
    EVP_MD_CTX_free(md);
    return rc;
}

/*
 * Read chunk index of a chained file whole into buffer and check it against
 * its links: on its own, so the chunks of one large file are checked by every
 * worker at once. A failure is a finding, not an error.
 */
static int read_chunk(struct pgb_repo *repo, const struct pgb_file_entry *e, size_t index,
                      pgb_chunk_decompressor *decompressor, uint8_t *buffer, char *why, size_t why_size)
{
    size_t got = 0;
    int rc = pgb_chunk_read_checked(repo, e, index, pgb_chunk_offset(e, index), decompressor, buffer, &got);
    if (rc != PGB_OK)
        snprintf(why, why_size, "%s", pgb_ctx_errmsg(repo->ctx));
    return rc;
}

/* What the readers share; workers touch only the atomics and their items' outcomes. */
struct read_shared {
    const pgb_ctx *caller; /* the calling thread's: workers read only its cancel flag */
    const struct pgb_file_list *list;
    const struct pgb_verify_wal_segment *wal;
    size_t wal_count;
    struct pgb_verify_item *items;
    struct pgb_verify_outcome *outcomes; /* one per item */
    size_t item_count;
    atomic_size_t next;
    atomic_int stop; /* a reader failed: the others end too */
};

struct file_reader {
    struct read_shared *shared;
    struct pgb_repo *repo; /* the caller's, or a worker's view */
};

/* Read a WAL segment whole (authenticated, its digest checked); a failure is a finding, not an error. */
static int read_wal(struct pgb_repo *repo, const struct pgb_verify_wal_segment *segment, uint64_t *size, char *why,
                    size_t why_size)
{
    void *data = NULL;
    size_t got = 0;
    int rc = pgb_object_get(repo->storage, segment->key, &repo->keys, &data, &got);
    free(data);
    *size = got;
    if (rc != PGB_OK)
        snprintf(why, why_size, "%s", pgb_ctx_errmsg(repo->ctx));
    return rc;
}

/* Read the next item of the shared order into its outcome; PGB_ITEROVER when there is none to read. */
static int read_next_item(struct file_reader *r, pgb_chunk_decompressor *decompressor, uint8_t *buffer)
{
    struct read_shared *s = r->shared;
    if (atomic_load(&s->stop))
        return PGB_ITEROVER; /* whoever stopped says why */
    if (pgb_ctx_is_canceled(s->caller))
        return pgb_error_set(r->repo->ctx, PGB_ECANCELED, "operation canceled");
    size_t next = atomic_fetch_add(&s->next, 1);
    if (next >= s->item_count)
        return PGB_ITEROVER;
    const struct pgb_verify_item *item = &s->items[next];
    struct pgb_verify_outcome *o = &s->outcomes[next];
    char why[1024];
    if (item->entry == PGB_VERIFY_WAL_ITEM) {
        o->read = read_wal(r->repo, &s->wal[item->chunk], &o->size, why, sizeof(why));
    } else {
        const struct pgb_file_entry *e = &s->list->entries[item->entry];
        o->read = item->chunk == PGB_VERIFY_WHOLE_FILE
                      ? read_file(r->repo, e, buffer, o->digest, why, sizeof(why))
                      : read_chunk(r->repo, e, item->chunk, decompressor, buffer, why, sizeof(why));
    }
    pgb_error_clear(r->repo->ctx);
    if (o->read == PGB_ENOMEM)
        return pgb_error_nomem(r->repo->ctx);
    if (o->read != PGB_OK && !(o->why = pgb_text_dup(why)))
        return pgb_error_nomem(r->repo->ctx);
    return PGB_OK;
}

/* Read items off the shared order into their outcomes. Damage is an outcome; only running out of memory fails. */
static int read_files(struct file_reader *r)
{
    uint8_t *buffer = malloc(READ_BUFFER_SIZE + 1);
    pgb_chunk_decompressor *decompressor = NULL;
    int rc = buffer ? pgb_chunk_decompressor_new(r->repo->ctx, &decompressor) : pgb_error_nomem(r->repo->ctx);
    while (rc == PGB_OK)
        rc = read_next_item(r, decompressor, buffer);
    pgb_chunk_decompressor_free(decompressor);
    free(buffer);
    return rc == PGB_ITEROVER ? PGB_OK : rc;
}

/* A worker thread's task; its error goes back as text, and stops the other workers. */
static int read_worker(void *arg, char *errbuf, size_t errlen)
{
    struct file_reader *r = arg;
    int rc = read_files(r);
    if (rc != PGB_OK) {
        snprintf(errbuf, errlen, "%s", pgb_ctx_errmsg(r->repo->ctx));
        atomic_store(&r->shared->stop, 1);
    }
    return rc;
}

/* Read the items with count workers; the first failure goes to the caller's context. */
static int run_readers(struct pgb_repo *repo, struct read_shared *shared, int count)
{
    struct pgb_read_worker *handles = NULL;
    struct file_reader *readers = calloc((size_t)count, sizeof(*readers));
    int rc = readers ? pgb_read_workers_open(&handles, repo, count) : pgb_error_nomem(repo->ctx);
    pgb_worker_pool *pool = NULL;
    if (rc == PGB_OK)
        rc = pgb_worker_pool_new(repo->ctx, count, &pool);
    for (int i = 0; rc == PGB_OK && i < count; i++) {
        readers[i] = (struct file_reader){.shared = shared, .repo = handles[i].repo};
        rc = pgb_worker_pool_submit(pool, read_worker, &readers[i]);
    }
    if (rc != PGB_OK)
        atomic_store(&shared->stop, 1);
    int wait_rc = pool ? pgb_worker_pool_wait(pool) : PGB_OK;
    pgb_worker_pool_free(pool);
    if (rc == PGB_OK)
        rc = wait_rc;
    pgb_read_workers_free(handles, count);
    free(readers);
    return rc;
}

/* WAL segments (16 MiB), whole files (biggest first), then chunks: what is read whole must not end last. */
static int item_rank(const struct pgb_verify_item *item)
{
    return item->entry == PGB_VERIFY_WAL_ITEM ? 0 : item->chunk == PGB_VERIFY_WHOLE_FILE ? 1 : 2;
}

static int big_items_first(const void *a, const void *b, void *payload)
{
    const struct pgb_verify_item *x = a, *y = b;
    const struct pgb_file_list *list = payload;
    int xr = item_rank(x), yr = item_rank(y);
    if (xr != yr)
        return xr < yr ? -1 : 1;
    if (xr == 1) {
        uint64_t xs = list->entries[x->entry].size, ys = list->entries[y->entry].size;
        if (xs != ys)
            return xs < ys ? 1 : -1;
    }
    return x->entry != y->entry ? (x->entry < y->entry ? -1 : 1) : (x->chunk < y->chunk ? -1 : x->chunk > y->chunk);
}

/* The work: each WAL segment, each chunk of a chained file, each other regular file whole. */
static int make_items(pgb_ctx *ctx, const struct pgb_file_list *list, struct read_shared *shared)
{
    size_t count = shared->wal_count;
    for (size_t i = 0; i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type == PGB_FILE_REGULAR)
            count += e->chained && e->chunk_count ? e->chunk_count : 1;
    }
    shared->items = count ? malloc(count * sizeof(*shared->items)) : NULL;
    shared->outcomes = count ? calloc(count, sizeof(*shared->outcomes)) : NULL;
    if (count && (!shared->items || !shared->outcomes))
        return pgb_error_nomem(ctx);
    for (size_t w = 0; w < shared->wal_count; w++)
        shared->items[shared->item_count++] = (struct pgb_verify_item){PGB_VERIFY_WAL_ITEM, w};
    for (size_t i = 0; i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type != PGB_FILE_REGULAR)
            continue;
        if (e->chained && e->chunk_count)
            for (size_t c = 0; c < e->chunk_count; c++)
                shared->items[shared->item_count++] = (struct pgb_verify_item){i, c};
        else
            shared->items[shared->item_count++] = (struct pgb_verify_item){i, PGB_VERIFY_WHOLE_FILE};
    }
    if (shared->item_count > 1)
        qsort_r(shared->items, shared->item_count, sizeof(*shared->items), big_items_first, (void *)list);
    return PGB_OK;
}

/* items sorted by entry within each kind: where each entry's items begin. */
static int item_starts(pgb_ctx *ctx, const struct pgb_file_list *list, const struct read_shared *shared,
                       size_t **out)
{
    *out = list->count ? malloc(list->count * sizeof(**out)) : NULL;
    if (list->count && !*out)
        return pgb_error_nomem(ctx);
    for (size_t i = 0; i < list->count; i++)
        (*out)[i] = SIZE_MAX;
    for (size_t k = shared->item_count; k > 0; k--)
        if (shared->items[k - 1].entry != PGB_VERIFY_WAL_ITEM)
            (*out)[shared->items[k - 1].entry] = k - 1;
    return PGB_OK;
}

int pgb_verify_read(struct pgb_repo *repo, const struct pgb_file_list *list, const struct pgb_verify_wal_segment *wal,
                    size_t wal_count, int jobs, struct pgb_verify_reading *out)
{
    struct read_shared shared = {.caller = repo->ctx, .list = list, .wal = wal, .wal_count = wal_count};
    *out = (struct pgb_verify_reading){0};
    int rc = make_items(repo->ctx, list, &shared);
    if (rc == PGB_OK)
        rc = item_starts(repo->ctx, list, &shared, &out->starts);
    int workers = pgb_read_worker_count(repo, jobs, "verifying");
    if ((size_t)workers > shared.item_count)
        workers = shared.item_count > 1 ? (int)shared.item_count : 1;
    struct file_reader calling = {.shared = &shared, .repo = repo};
    if (rc == PGB_OK)
        rc = workers > 1 ? run_readers(repo, &shared, workers) : read_files(&calling);
    out->items = shared.items;
    out->outcomes = shared.outcomes;
    out->count = shared.item_count;
    return rc;
}

void pgb_verify_file_outcome(const struct pgb_verify_reading *r, const struct pgb_file_entry *e, size_t entry,
                             struct pgb_verify_file_outcome *o)
{
    *o = (struct pgb_verify_file_outcome){.read = PGB_OK};
    memcpy(o->digest, e->sha256, sizeof(o->digest));
    size_t first = r->starts ? r->starts[entry] : SIZE_MAX;
    for (size_t k = first; k < r->count && r->items[k].entry == entry; k++) {
        const struct pgb_verify_outcome *item = &r->outcomes[k];
        if (r->items[k].chunk == PGB_VERIFY_WHOLE_FILE && item->read == PGB_OK)
            memcpy(o->digest, item->digest, sizeof(o->digest));
        if (item->read != PGB_OK && o->read == PGB_OK) {
            o->read = item->read;
            o->why = item->why;
        }
    }
}

void pgb_verify_reading_clear(struct pgb_verify_reading *r)
{
    for (size_t k = 0; r->outcomes && k < r->count; k++)
        free(r->outcomes[k].why);
    free(r->outcomes);
    free(r->items);
    free(r->starts);
    *r = (struct pgb_verify_reading){0};
}
