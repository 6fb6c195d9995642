#include "repo/content_writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "pipeline/chunk_compress.h"
#include "pipeline/compress.h"
#include "pipeline/sha256_chain.h"
#include "repo/chunk_encoder.h"

/* Chunk ids already stored, for reuse: open addressing on the id's first bytes. */
struct chunk_table {
    struct pgb_stored_chunk *slots; /* id[0] == 0: empty */
    size_t capacity, count;
};

struct pgb_content_writer {
    struct pgb_repo *repo;
    pgb_pack_writer *packs;
    int codec, level;
    pgb_chunk_compressor *compressor;
    pgb_chunk_encoder *encoder; /* when chunks are stored by a thread of their own */
    char id_domain[32];         /* content ids are per codec: "chunk zstd" */
    pthread_mutex_t known_lock; /* the encoder thread finds and adds chunks too */
    struct chunk_table known;
    struct pgb_file_list list;
    struct pgb_content_stats stats;
    /* The file being written. */
    struct pgb_file_entry current;
    int in_entry;
    uint8_t *buffer; /* one chunk */
    size_t buffered;
    size_t chunk_capacity;
    struct pgb_sha256_chain chain; /* the file's SHA-256, with a link after each chunk */
};

static size_t slot_of(const struct chunk_table *t, const char *id)
{
    size_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h * 16 + (size_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
    return h & (t->capacity - 1);
}

static const struct pgb_stored_chunk *table_find(const struct chunk_table *t, const char *id)
{
    if (!t->capacity)
        return NULL;
    for (size_t i = slot_of(t, id);; i = (i + 1) & (t->capacity - 1)) {
        if (!t->slots[i].id[0])
            return NULL;
        if (strcmp(t->slots[i].id, id) == 0)
            return &t->slots[i];
    }
}

static int table_add(pgb_ctx *ctx, struct chunk_table *t, const struct pgb_stored_chunk *c)
{
    if ((t->count + 1) * 2 > t->capacity) {
        struct chunk_table bigger = {calloc(t->capacity ? t->capacity * 2 : 1024, sizeof(*t->slots)),
                                     t->capacity ? t->capacity * 2 : 1024, 0};
        if (!bigger.slots)
            return pgb_error_nomem(ctx);
        for (size_t i = 0; i < t->capacity; i++)
            if (t->slots[i].id[0])
                table_add(ctx, &bigger, &t->slots[i]);
        free(t->slots);
        *t = bigger;
    }
    size_t i = slot_of(t, c->id);
    while (t->slots[i].id[0] && strcmp(t->slots[i].id, c->id) != 0)
        i = (i + 1) & (t->capacity - 1);
    if (!t->slots[i].id[0])
        t->count++;
    t->slots[i] = *c;
    return PGB_OK;
}

int pgb_content_writer_new(pgb_content_writer **out, struct pgb_repo *repo, int codec, int level,
                           const struct pgb_file_list *parent)
{
    pgb_content_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return pgb_error_nomem(repo->ctx);
    w->repo = repo;
    w->codec = codec;
    w->level = level;
    w->chunk_capacity = PGB_CHUNK_SIZE;
    w->buffer = malloc(w->chunk_capacity);
    pthread_mutex_init(&w->known_lock, NULL);
    const char *codec_name = pgb_codec_name(codec);
    snprintf(w->id_domain, sizeof(w->id_domain), "chunk %s", codec_name ? codec_name : "?");
    int rc = w->buffer ? PGB_OK : pgb_error_nomem(repo->ctx);
    if (rc == PGB_OK)
        rc = pgb_pack_writer_new(&w->packs, repo, codec, level, PGB_PACK_TARGET_SIZE);
    if (rc == PGB_OK)
        rc = pgb_chunk_compressor_new(repo->ctx, codec, level, &w->compressor);
    for (size_t i = 0; rc == PGB_OK && parent && i < parent->count; i++)
        for (size_t j = 0; rc == PGB_OK && j < parent->entries[i].chunk_count; j++)
            rc = table_add(repo->ctx, &w->known, &parent->entries[i].chunks[j]);
    if (rc != PGB_OK) {
        pgb_content_writer_free(w);
        return rc;
    }
    *out = w;
    return PGB_OK;
}

int pgb_content_writer_begin(pgb_content_writer *w, const char *path, int type, uint32_t mode, int64_t mtime,
                             const char *link)
{
    pgb_ctx *ctx = w->repo->ctx;
    if (w->in_entry)
        return pgb_error_set(ctx, PGB_EINVALID, "entry %s begins before %s ended", path, w->current.path);
    w->current = (struct pgb_file_entry){.type = type, .mode = mode, .mtime = mtime};
    w->current.path = pgb_text_dup(path);
    if (link)
        w->current.link = pgb_text_dup(link);
    if (!w->current.path || (link && !w->current.link))
        return pgb_error_nomem(ctx);
    w->buffered = 0;
    w->in_entry = 1;
    if (type == PGB_FILE_REGULAR) {
        w->current.chained = 1;
        pgb_sha256_chain_start(&w->chain);
    }
    return PGB_OK;
}

static int add_chunk_ref(pgb_content_writer *w, const struct pgb_stored_chunk *c)
{
    struct pgb_file_entry *e = &w->current;
    struct pgb_stored_chunk *grown = realloc(e->chunks, (e->chunk_count + 1) * sizeof(*grown));
    if (!grown)
        return pgb_error_nomem(w->repo->ctx);
    e->chunks = grown;
    e->chunks[e->chunk_count++] = *c;
    return PGB_OK;
}

/*
 * Compress a chunk, name it by a keyed hash of its frame's SHA-256 (a fraction
 * of the bytes: the file's chain is the one pass over the plaintext), and
 * store it unless this backup or its parent holds it already. Runs on the
 * calling thread or on the encoder thread, with that thread's repository
 * view, compressor and packs.
 */
static int store_chunk(void *payload, struct pgb_repo *repo, pgb_chunk_compressor *compressor,
                       pgb_pack_writer *packs, const uint8_t *data, size_t size, struct pgb_stored_chunk *stored,
                       int *reused)
{
    pgb_content_writer *w = payload;
    const uint8_t *frame = NULL;
    size_t frame_size = 0;
    uint8_t digest[32];
    unsigned int digest_size = 0;
    memset(stored, 0, sizeof(*stored));
    *reused = 0;
    int rc = pgb_chunk_compress(compressor, data, size, &frame, &frame_size);
    if (rc == PGB_OK && EVP_Digest(frame, frame_size, digest, &digest_size, EVP_sha256(), NULL) != 1)
        rc = pgb_error_set(repo->ctx, PGB_ERROR, "SHA-256 failed in OpenSSL");
    if (rc == PGB_OK)
        rc = pgb_content_id(repo->ctx, &repo->keys, w->id_domain, digest, sizeof(digest), stored->id);
    if (rc != PGB_OK)
        return rc;
    pthread_mutex_lock(&w->known_lock);
    const struct pgb_stored_chunk *known = table_find(&w->known, stored->id);
    if (known)
        stored->ref = known->ref;
    pthread_mutex_unlock(&w->known_lock);
    if (known) {
        *reused = 1;
        return PGB_OK;
    }
    rc = pgb_pack_writer_add_frame(packs, frame, frame_size, size, &stored->ref);
    /* Met again before this pack is committed: referenced all the same, the pack is committed before the list. */
    if (rc == PGB_OK) {
        pthread_mutex_lock(&w->known_lock);
        rc = table_add(repo->ctx, &w->known, stored);
        pthread_mutex_unlock(&w->known_lock);
    }
    return rc;
}

/* A chunk stored (by either thread): fill in the reference left in its file's entry. */
static int chunk_stored(void *payload, size_t entry, size_t chunk, const struct pgb_stored_chunk *stored, int reused)
{
    pgb_content_writer *w = payload;
    struct pgb_file_entry *e = entry < w->list.count ? &w->list.entries[entry] : &w->current;
    memcpy(e->chunks[chunk].id, stored->id, sizeof(stored->id));
    e->chunks[chunk].ref = stored->ref;
    if (reused)
        w->stats.chunks_reused++;
    else
        w->stats.chunks_new++;
    return PGB_OK;
}

int pgb_content_writer_use_thread(pgb_content_writer *w, int threads)
{
    return w->encoder ? PGB_OK
                      : pgb_chunk_encoder_start(&w->encoder, w->repo, w->codec, w->level, threads, store_chunk, w);
}

/* Link the buffered chunk into the file's chain and store it (or find it again). */
static int flush_chunk(pgb_content_writer *w)
{
    struct pgb_stored_chunk chunk = {0};
    /* Every chunk but a file's last ends on a block boundary; the last one's link is set at the end. */
    pgb_sha256_chain_link(&w->chain, chunk.link);
    chunk.ref.plain_size = w->buffered;
    size_t number = w->current.chunk_count;
    int rc = add_chunk_ref(w, &chunk);
    if (rc == PGB_OK && w->encoder) {
        rc = pgb_chunk_encoder_submit(w->encoder, &w->buffer, w->buffered, w->list.count, number, chunk_stored, w);
    } else if (rc == PGB_OK) {
        struct pgb_stored_chunk stored;
        int reused = 0;
        rc = store_chunk(w, w->repo, w->compressor, w->packs, w->buffer, w->buffered, &stored, &reused);
        if (rc == PGB_OK)
            rc = chunk_stored(w, w->list.count, number, &stored, reused);
    }
    w->buffered = 0;
    return rc;
}

int pgb_content_writer_data(pgb_content_writer *w, const void *data, size_t size)
{
    const uint8_t *p = data;
    if (!w->in_entry || w->current.type != PGB_FILE_REGULAR)
        return pgb_error_set(w->repo->ctx, PGB_EINVALID, "file data outside a regular file");
    w->current.size += size;
    w->stats.bytes += size;
    while (size > 0) {
        size_t take = w->chunk_capacity - w->buffered;
        if (take > size)
            take = size;
        memcpy(w->buffer + w->buffered, p, take);
        pgb_sha256_chain_update(&w->chain, p, take);
        w->buffered += take;
        p += take;
        size -= take;
        if (w->buffered == w->chunk_capacity) {
            int rc = flush_chunk(w);
            if (rc != PGB_OK)
                return rc;
        }
    }
    return PGB_OK;
}

int pgb_content_writer_end(pgb_content_writer *w)
{
    pgb_ctx *ctx = w->repo->ctx;
    int rc = PGB_OK;
    if (w->current.type == PGB_FILE_REGULAR) {
        /* An empty file has no chunk; every other file ends with its last, partial chunk. */
        if (w->buffered > 0)
            rc = flush_chunk(w);
        pgb_sha256_chain_final(&w->chain, w->current.sha256);
        if (w->current.chunk_count > 0)
            memcpy(w->current.chunks[w->current.chunk_count - 1].link, w->current.sha256, 32);
        w->stats.files++;
    }
    if (rc == PGB_OK)
        rc = pgb_file_list_append(ctx, &w->list, &w->current);
    pgb_file_entry_clear(&w->current);
    w->in_entry = 0;
    return rc;
}

int pgb_content_writer_finish(pgb_content_writer *w)
{
    int rc = w->encoder ? pgb_chunk_encoder_finish(w->encoder, chunk_stored, w) : PGB_OK;
    if (rc == PGB_OK)
        rc = pgb_pack_writer_finish(w->packs);
    w->stats.stored_bytes = pgb_pack_writer_stored_bytes(w->packs) + pgb_chunk_encoder_stored_bytes(w->encoder);
    return rc;
}

const struct pgb_file_list *pgb_content_writer_list(const pgb_content_writer *w)
{
    return &w->list;
}

struct pgb_content_stats pgb_content_writer_stats(const pgb_content_writer *w)
{
    struct pgb_content_stats stats = w->stats;
    stats.stored_bytes = pgb_pack_writer_stored_bytes(w->packs) + pgb_chunk_encoder_stored_bytes(w->encoder);
    return stats;
}

int pgb_content_writer_move_list(pgb_content_writer *w, struct pgb_file_list *into)
{
    size_t moved = 0;
    int rc = PGB_OK;
    while (rc == PGB_OK && moved < w->list.count) {
        rc = pgb_file_list_append(w->repo->ctx, into, &w->list.entries[moved]);
        if (rc == PGB_OK)
            moved++;
    }
    /* Keep what could not be moved, so that it is still freed with the writer. */
    if (moved > 0 && moved < w->list.count)
        memmove(w->list.entries, w->list.entries + moved, (w->list.count - moved) * sizeof(*w->list.entries));
    w->list.count -= moved;
    return rc;
}

void pgb_content_writer_free(pgb_content_writer *w)
{
    if (!w)
        return;
    pgb_chunk_encoder_free(w->encoder);
    pgb_pack_writer_free(w->packs);
    pgb_chunk_compressor_free(w->compressor);
    pthread_mutex_destroy(&w->known_lock);
    free(w->known.slots);
    pgb_file_list_clear(&w->list);
    pgb_file_entry_clear(&w->current);
    free(w->buffer);
    free(w);
}
