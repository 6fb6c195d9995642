/*
 * Verifying a physical backup inside the repository: every byte is read back
 * through the pipeline as a restore would, but nothing is written.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/error.h>
#include <pgbackup/progress.h>
#include <pgbackup/verify.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/progress.h"
#include "core/text.h"
#include "core/worker_pool.h"
#include "manifest/manifest.h"
#include "manifest/verify_report.h"
#include "pg/lsn.h"
#include "repo/catalog.h"
#include "repo/chunk_check.h"
#include "repo/file_list.h"
#include "restore/read_workers.h"

#define READ_BUFFER_SIZE ((size_t)1 << 20)
#define WHOLE_FILE SIZE_MAX /* item.chunk of a file read whole */
#define WAL_ITEM SIZE_MAX   /* item.entry of a WAL segment; item.chunk is its index */

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
    const struct pgb_chunk_ref *ref = &e->chunks[index].ref;
    if (ref->plain_size > READ_BUFFER_SIZE) {
        snprintf(why, why_size, "chunk %zu is larger (%llu bytes) than any chunk this version writes", index,
                 (unsigned long long)ref->plain_size);
        return PGB_ECORRUPT;
    }
    size_t got = 0;
    /* One byte of room more than the chunk: a chunk that decodes longer than recorded is caught. */
    int rc = pgb_chunk_read_whole(repo, ref, decompressor, buffer, READ_BUFFER_SIZE + 1, &got);
    if (rc != PGB_OK) {
        snprintf(why, why_size, "%s", pgb_ctx_errmsg(repo->ctx));
        return rc;
    }
    if (!pgb_chunk_matches(e, index, pgb_chunk_offset(e, index), buffer, got)) {
        snprintf(why, why_size, "chunk %zu (bytes %llu to %llu) does not match the file's SHA-256 chain", index,
                 (unsigned long long)pgb_chunk_offset(e, index),
                 (unsigned long long)(pgb_chunk_offset(e, index) + ref->plain_size));
        return PGB_ECORRUPT;
    }
    return PGB_OK;
}

/* One piece of work: a chunk of a chained file, a whole file (chunk == WHOLE_FILE), or a WAL segment. */
struct read_item {
    size_t entry, chunk;
};

/* What reading one item found, recorded by whichever thread read it. */
struct item_outcome {
    int read;           /* PGB_OK, or why the bytes could not be read back or did not match */
    uint8_t digest[32]; /* whole files: of what came back, when read is PGB_OK */
    uint64_t size;      /* WAL segments: bytes read back */
    char *why;          /* the failure's message, when read is not PGB_OK */
};

/* A WAL segment the manifest's ranges need. */
struct wal_segment {
    char path[64]; /* pg_wal/<name>, as findings name it */
    char key[PGB_KEY_SIZE];
};

/* What a file's items add up to. */
struct file_outcome {
    int read;
    uint8_t digest[32];
    const char *why;
};

/* What the readers share; workers touch only the atomics and their items' outcomes. */
struct read_shared {
    const pgb_ctx *caller; /* the calling thread's: workers read only its cancel flag */
    const struct pgb_file_list *list;
    const struct wal_segment *wal;
    size_t wal_count;
    struct read_item *items;
    struct item_outcome *outcomes; /* one per item */
    size_t item_count;
    atomic_size_t next;
    atomic_int stop; /* a reader failed: the others end too */
};

struct file_reader {
    struct read_shared *shared;
    struct pgb_repo *repo; /* the caller's, or a worker's view */
};

/* Read a WAL segment whole (authenticated, its digest checked); a failure is a finding, not an error. */
static int read_wal(struct pgb_repo *repo, const struct wal_segment *segment, uint64_t *size, char *why,
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
    const struct read_item *item = &s->items[next];
    struct item_outcome *o = &s->outcomes[next];
    char why[1024];
    if (item->entry == WAL_ITEM) {
        o->read = read_wal(r->repo, &s->wal[item->chunk], &o->size, why, sizeof(why));
    } else {
        const struct pgb_file_entry *e = &s->list->entries[item->entry];
        o->read = item->chunk == WHOLE_FILE
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
static int item_rank(const struct read_item *item)
{
    return item->entry == WAL_ITEM ? 0 : item->chunk == WHOLE_FILE ? 1 : 2;
}

static int big_items_first(const void *a, const void *b, void *payload)
{
    const struct read_item *x = a, *y = b;
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
        shared->items[shared->item_count++] = (struct read_item){WAL_ITEM, w};
    for (size_t i = 0; i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type != PGB_FILE_REGULAR)
            continue;
        if (e->chained && e->chunk_count)
            for (size_t c = 0; c < e->chunk_count; c++)
                shared->items[shared->item_count++] = (struct read_item){i, c};
        else
            shared->items[shared->item_count++] = (struct read_item){i, WHOLE_FILE};
    }
    if (shared->item_count > 1)
        qsort_r(shared->items, shared->item_count, sizeof(*shared->items), big_items_first, (void *)list);
    return PGB_OK;
}

/*
 * A file's outcome from its items: the first failing chunk (lowest index)
 * speaks for it; a chained file whose every chunk matched its links has
 * exactly the SHA-256 its entry records.
 */
static void file_outcome_of(const struct pgb_file_entry *e, const struct read_shared *shared, size_t first,
                            struct file_outcome *o)
{
    *o = (struct file_outcome){.read = PGB_OK};
    memcpy(o->digest, e->sha256, sizeof(o->digest));
    for (size_t k = first; k < shared->item_count && shared->items[k].entry == shared->items[first].entry; k++) {
        const struct item_outcome *item = &shared->outcomes[k];
        if (shared->items[k].chunk == WHOLE_FILE && item->read == PGB_OK)
            memcpy(o->digest, item->digest, sizeof(o->digest));
        if (item->read != PGB_OK && o->read == PGB_OK) {
            o->read = item->read;
            o->why = item->why;
        }
    }
}

/* Findings about one read file, against the file list and the server's manifest. */
static int file_findings(const struct pgb_file_entry *e, const struct file_outcome *o,
                         const struct pgb_manifest *manifest, pgb_verify_report *report)
{
    const struct pgb_manifest_file *m = manifest ? pgb_manifest_find(manifest, e->path) : NULL;
    int rc = PGB_OK;
    if (manifest && !m)
        rc = pgb_verify_report_add(report, PGB_FINDING_EXTRA, e->path, "in the backup but not in its manifest");
    if (rc != PGB_OK)
        return rc;
    if (o->read != PGB_OK)
        return pgb_verify_report_add(report, o->read == PGB_ENOTFOUND ? PGB_FINDING_MISSING : PGB_FINDING_CHECKSUM,
                                     e->path, o->why);
    if (CRYPTO_memcmp(o->digest, e->sha256, 32) != 0)
        return pgb_verify_report_add(report, PGB_FINDING_CHECKSUM, e->path,
                                     "stored content does not match the SHA-256 of the file list");
    if (m && m->size != e->size)
        return pgb_verify_report_add(report, PGB_FINDING_SIZE, e->path, "size differs from the manifest");
    if (m && m->checksum_type == PGB_CHECKSUM_SHA256 && memcmp(m->checksum, o->digest, 32) != 0)
        return pgb_verify_report_add(report, PGB_FINDING_CHECKSUM, e->path,
                                     "stored content does not match the server's manifest checksum");
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
        if (shared->items[k - 1].entry != WAL_ITEM)
            (*out)[shared->items[k - 1].entry] = k - 1;
    return PGB_OK;
}

/*
 * Read every chunk of every chained file and every other regular file whole
 * with jobs threads, each outcome into its item's slot; then, on this thread
 * and in the file list's order, turn the outcomes into findings, so that the
 * report is the same whatever jobs is.
 */
static int check_files(struct pgb_repo *repo, const struct pgb_file_list *list, const struct pgb_manifest *manifest,
                       const struct wal_segment *wal, size_t wal_count, uint64_t segment_size,
                       pgb_verify_report *report, int jobs, uint64_t *bytes)
{
    struct read_shared shared = {.caller = repo->ctx, .list = list, .wal = wal, .wal_count = wal_count};
    size_t *starts = NULL;
    int rc = make_items(repo->ctx, list, &shared);
    if (rc == PGB_OK)
        rc = item_starts(repo->ctx, list, &shared, &starts);
    int workers = pgb_read_worker_count(repo, jobs, "verifying");
    if ((size_t)workers > shared.item_count)
        workers = shared.item_count > 1 ? (int)shared.item_count : 1;
    struct file_reader calling = {.shared = &shared, .repo = repo};
    if (rc == PGB_OK)
        rc = workers > 1 ? run_readers(repo, &shared, workers) : read_files(&calling);
    if (rc == PGB_OK)
        rc = pgb_check_canceled(repo->ctx);
    size_t checked = 0;
    for (size_t i = 0; rc == PGB_OK && i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type != PGB_FILE_REGULAR)
            continue;
        struct file_outcome outcome;
        file_outcome_of(e, &shared, starts[i], &outcome);
        rc = file_findings(e, &outcome, manifest, report);
        *bytes += e->size;
        checked++;
    }
    if (rc == PGB_OK)
        pgb_verify_report_count(report, checked, *bytes);
    /* WAL findings after the files', in the order of the segments. */
    for (size_t k = 0; rc == PGB_OK && k < shared.item_count; k++) {
        const struct item_outcome *o = &shared.outcomes[k];
        const struct read_item *item = &shared.items[k];
        if (item->entry != WAL_ITEM)
            continue;
        if (o->read == PGB_OK && o->size != segment_size)
            rc = pgb_verify_report_add(report, PGB_FINDING_SIZE, wal[item->chunk].path,
                                       "WAL segment has the wrong size");
        else if (o->read != PGB_OK)
            rc = pgb_verify_report_add(report, o->read == PGB_ENOTFOUND ? PGB_FINDING_WAL_MISSING
                                                                        : PGB_FINDING_CHECKSUM,
                                       wal[item->chunk].path, o->why);
    }
    for (size_t k = 0; shared.outcomes && k < shared.item_count; k++)
        free(shared.outcomes[k].why);
    free(shared.outcomes);
    free(shared.items);
    free(starts);
    return rc;
}

/* Every manifest file must be in the backup. */
static int check_manifest_covered(const struct pgb_file_list *list, const struct pgb_manifest *manifest,
                                  pgb_verify_report *report)
{
    /* Manifest paths are unique (the parser refuses repeats): as many regular files found in it means all. */
    size_t found_in_manifest = 0;
    for (size_t j = 0; j < list->count; j++)
        if (list->entries[j].type == PGB_FILE_REGULAR && pgb_manifest_find(manifest, list->entries[j].path))
            found_in_manifest++;
    if (found_in_manifest == pgb_manifest_file_count(manifest))
        return PGB_OK;
    int rc = PGB_OK;
    for (size_t i = 0; rc == PGB_OK && i < pgb_manifest_file_count(manifest); i++) {
        const char *path = pgb_manifest_file_at(manifest, i)->path;
        int found = 0;
        for (size_t j = 0; !found && j < list->count; j++)
            found = strcmp(list->entries[j].path, path) == 0;
        if (!found)
            rc = pgb_verify_report_add(report, PGB_FINDING_MISSING, path, "in the manifest but not in the backup");
    }
    return rc;
}

/* Every segment of the manifest's WAL ranges: read and checked with the files. */
static int wal_segments(struct pgb_repo *repo, const char *id, uint64_t segment_size,
                        const struct pgb_manifest *manifest, struct wal_segment **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t capacity = 0;
    for (size_t i = 0; manifest && i < pgb_manifest_wal_range_count(manifest); i++) {
        const struct pgb_manifest_wal_range *range = pgb_manifest_wal_range_at(manifest, i);
        uint64_t first = range->start_lsn / segment_size;
        uint64_t last = (range->end_lsn > 0 ? range->end_lsn - 1 : 0) / segment_size;
        for (uint64_t segment = first; segment <= last; segment++) {
            if (*count == capacity) {
                capacity = capacity ? capacity * 2 : 16;
                struct wal_segment *grown = realloc(*out, capacity * sizeof(*grown));
                if (!grown)
                    return pgb_error_nomem(repo->ctx);
                *out = grown;
            }
            struct wal_segment *w = &(*out)[(*count)++];
            char name[PGB_WAL_NAME_SIZE], suffix[64];
            pgb_wal_segment_name(range->timeline, segment, segment_size, name);
            snprintf(suffix, sizeof(suffix), "wal/%s", name);
            pgb_backup_content_key(repo, id, suffix, w->key);
            snprintf(w->path, sizeof(w->path), "pg_wal/%s", name);
        }
    }
    return PGB_OK;
}

/* *physical: whether the record is a physical backup's (logical and globals backups have no manifest or WAL). */
static int find_record(struct pgb_repo *repo, const char *wanted, char *id, size_t id_size, uint64_t *segment_size,
                       int *physical)
{
    json_t *records = NULL;
    int rc = pgb_catalog_read_all(repo, &records);
    id[0] = '\0';
    for (size_t i = json_array_size(records); rc == PGB_OK && i > 0 && !id[0]; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *rid = json_string_value(json_object_get(r, "id"));
        const char *type = json_string_value(json_object_get(r, "type"));
        if (wanted ? strcmp(rid, wanted) == 0 : (type && strcmp(type, "physical") == 0)) {
            snprintf(id, id_size, "%s", rid);
            *physical = type && strcmp(type, "physical") == 0;
            json_int_t recorded = json_integer_value(json_object_get(r, "wal_segment_size"));
            *segment_size = recorded > 0 ? (uint64_t)recorded : 16u * 1024 * 1024;
        }
    }
    json_decref(records);
    if (rc == PGB_OK && !id[0])
        rc = wanted ? pgb_error_set(repo->ctx, PGB_ENOTFOUND, "backup %s not found in cluster %s", wanted,
                                    repo->cluster)
                    : pgb_error_set(repo->ctx, PGB_ENOTFOUND, "cluster %s has no physical backup to verify",
                                    repo->cluster);
    return rc;
}

int pgb_verify_backup(pgb_verify_report **out, pgb_repo *repo, const char *wanted)
{
    return pgb_verify_backup_with_options(out, repo, wanted, NULL);
}

int pgb_verify_backup_with_options(pgb_verify_report **out, pgb_repo *repo, const char *wanted,
                                   const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_verify_backup: out is NULL");
    *out = NULL;
    if (!pgb_repo_can_read(repo))
        return pgb_error_set(ctx, PGB_EAUTH, "verifying needs --identity or --passphrase-file: this repository handle "
                             "holds only the writer key");
    char id[128];
    uint64_t segment_size = 0;
    int physical = 1;
    int rc = find_record(repo, wanted, id, sizeof(id), &segment_size, &physical);
    if (rc != PGB_OK)
        return rc;
    pgb_verify_report *report = pgb_verify_report_new(id);
    if (!report)
        return pgb_error_nomem(ctx);
    struct pgb_file_list list = {0};
    struct pgb_manifest *manifest = NULL;
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(repo, id, "backup_manifest", key);
    void *text = NULL;
    size_t size = 0;
    if (physical && (pgb_object_get(repo->storage, key, &repo->keys, &text, &size) != PGB_OK ||
                     pgb_manifest_parse(ctx, key, text, size, &manifest) != PGB_OK))
        rc = pgb_verify_report_add(report, PGB_FINDING_MANIFEST, "backup_manifest", pgb_ctx_errmsg(ctx));
    free(text);
    pgb_error_clear(ctx);
    int loaded = pgb_file_list_load(repo, id, &list);
    if (loaded != PGB_OK) {
        rc = pgb_verify_report_add(report, PGB_FINDING_MANIFEST, "files", pgb_ctx_errmsg(ctx));
        pgb_error_clear(ctx);
    }
    uint64_t bytes = 0;
    struct wal_segment *wal = NULL;
    size_t wal_count = 0;
    if (rc == PGB_OK)
        rc = wal_segments(repo, id, segment_size, manifest, &wal, &wal_count);
    /* A list that did not load is a finding already: its WAL is still checked. */
    if (rc == PGB_OK)
        rc = check_files(repo, &list, manifest, wal, wal_count, segment_size, report, pgb_read_jobs(opts), &bytes);
    if (rc == PGB_OK && loaded == PGB_OK && manifest)
        rc = check_manifest_covered(&list, manifest, report);
    free(wal);
    if (rc == PGB_OK)
        rc = pgb_verify_report_seal(report);
    if (rc == PGB_ENOMEM && pgb_ctx_errcode(ctx) == PGB_OK)
        pgb_error_nomem(ctx);
    pgb_file_list_clear(&list);
    pgb_manifest_free(manifest);
    if (rc != PGB_OK) {
        pgb_verify_report_free(report);
        return rc;
    }
    *out = report;
    return PGB_OK;
}
