#include "repo/chunk_encoder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>

#include "core/error.h"
#include "repo/content_writer.h"
#include "storage/storage.h"

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_WORKING, SLOT_DONE };

struct slot {
    int state;
    uint8_t *data;
    size_t size;
    struct pgb_stored_chunk chunk; /* filled by the thread that took it */
    int reused;
    size_t entry, chunk_number;
    int rc;
    char message[512];
};

/* One encoding thread: its own context, storage handle, repository view, packs and compressor. */
struct encoder_thread {
    pgb_chunk_encoder *owner;
    struct pgb_repo_worker worker;
    pgb_pack_writer *packs;
    pgb_chunk_compressor *compressor;
    pthread_t thread;
    int running;
};

struct pgb_chunk_encoder {
    pgb_ctx *caller; /* the calling thread's context: errors end up here */
    pgb_chunk_store_fn store;
    void *store_payload;
    struct encoder_thread *threads;
    int thread_count;
    int stopping;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct slot *slots;
    size_t slot_count;
    size_t next_submit, next_work, next_collect; /* counters; slot = counter % slot_count */
    int failed;                                  /* a slot failed: the first error was handed over */
};

static void *encoder_main(void *arg)
{
    struct encoder_thread *t = arg;
    pgb_chunk_encoder *e = t->owner;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        struct slot *s = &e->slots[e->next_work % e->slot_count];
        while (s->state != SLOT_QUEUED && !e->stopping) {
            pthread_cond_wait(&e->changed, &e->lock);
            s = &e->slots[e->next_work % e->slot_count];
        }
        if (s->state != SLOT_QUEUED)
            break;
        s->state = SLOT_WORKING;
        e->next_work++;
        pthread_mutex_unlock(&e->lock);
        /* Only this thread touches the slot while it works on it, and its own worker context at all. */
        s->reused = 0;
        int rc = e->store(e->store_payload, t->worker.repo, t->compressor, t->packs, s->data, s->size, &s->chunk,
                          &s->reused);
        if (rc != PGB_OK)
            snprintf(s->message, sizeof(s->message), "%s", pgb_ctx_errmsg(t->worker.ctx));
        pthread_mutex_lock(&e->lock);
        s->rc = rc;
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&e->changed);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static int thread_open(struct encoder_thread *t, pgb_chunk_encoder *e, struct pgb_repo *repo, int codec, int level)
{
    t->owner = e;
    int rc = pgb_repo_worker_open(&t->worker, repo);
    if (rc == PGB_OK &&
        pgb_pack_writer_new(&t->packs, t->worker.repo, codec, level, PGB_PACK_TARGET_SIZE) != PGB_OK)
        rc = pgb_error_nomem(repo->ctx);
    if (rc == PGB_OK && pgb_chunk_compressor_new(t->worker.ctx, codec, level, &t->compressor) != PGB_OK)
        rc = pgb_error_set(repo->ctx, pgb_ctx_errcode(t->worker.ctx), "%s", pgb_ctx_errmsg(t->worker.ctx));
    if (rc == PGB_OK && pthread_create(&t->thread, NULL, encoder_main, t) != 0)
        rc = pgb_error_set(repo->ctx, PGB_ERROR, "cannot start a chunk encoder thread");
    t->running = rc == PGB_OK;
    return rc;
}

int pgb_chunk_encoder_start(pgb_chunk_encoder **out, struct pgb_repo *repo, int codec, int level, int threads,
                            pgb_chunk_store_fn store, void *store_payload)
{
    *out = NULL;
    if (!pgb_storage_reopenable(repo->storage))
        return PGB_OK;
    pgb_chunk_encoder *e = calloc(1, sizeof(*e));
    if (!e)
        return pgb_error_nomem(repo->ctx);
    e->caller = repo->ctx;
    e->store = store;
    e->store_payload = store_payload;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->changed, NULL);
    e->thread_count = threads < 1 ? 1 : threads;
    /* Two chunks a thread in flight, and two more queued: the reader rarely waits. */
    e->slot_count = 2 * (size_t)e->thread_count + 2;
    e->threads = calloc((size_t)e->thread_count, sizeof(*e->threads));
    e->slots = calloc(e->slot_count, sizeof(*e->slots));
    int rc = e->threads && e->slots ? PGB_OK : pgb_error_nomem(repo->ctx);
    for (size_t i = 0; rc == PGB_OK && i < e->slot_count; i++)
        if (!(e->slots[i].data = malloc(PGB_CHUNK_SIZE)))
            rc = pgb_error_nomem(repo->ctx);
    for (int i = 0; rc == PGB_OK && i < e->thread_count; i++)
        rc = thread_open(&e->threads[i], e, repo, codec, level);
    if (rc != PGB_OK) {
        pgb_chunk_encoder_free(e);
        return rc;
    }
    *out = e;
    return PGB_OK;
}

/* Hand the oldest finished chunk to done (lock held on entry and exit). */
static int collect_one(pgb_chunk_encoder *e, int wait, pgb_chunk_done_fn done, void *payload, int *collected)
{
    struct slot *s = &e->slots[e->next_collect % e->slot_count];
    *collected = 0;
    while (wait && (s->state == SLOT_QUEUED || s->state == SLOT_WORKING))
        pthread_cond_wait(&e->changed, &e->lock);
    if (s->state != SLOT_DONE)
        return PGB_OK;
    int rc = s->rc;
    if (rc != PGB_OK && !e->failed) {
        e->failed = 1;
        pgb_error_set(e->caller, rc, "%s", s->message);
    } else if (rc == PGB_OK) {
        rc = done(payload, s->entry, s->chunk_number, &s->chunk, s->reused);
    }
    s->state = SLOT_FREE;
    e->next_collect++;
    *collected = 1;
    return rc;
}

int pgb_chunk_encoder_submit(pgb_chunk_encoder *e, uint8_t **buffer, size_t size, size_t entry,
                             size_t chunk_number, pgb_chunk_done_fn done, void *payload)
{
    pthread_mutex_lock(&e->lock);
    int rc = PGB_OK, collected = 1;
    /* Hand over what is finished; wait only when every slot is taken. */
    while (rc == PGB_OK && collected)
        rc = collect_one(e, e->next_submit - e->next_collect == e->slot_count, done, payload, &collected);
    if (rc == PGB_OK) {
        struct slot *s = &e->slots[e->next_submit % e->slot_count];
        uint8_t *free_buffer = s->data;
        s->data = *buffer;
        *buffer = free_buffer;
        s->size = size;
        s->entry = entry;
        s->chunk_number = chunk_number;
        s->state = SLOT_QUEUED;
        e->next_submit++;
        pthread_cond_broadcast(&e->changed);
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static void stop_threads(pgb_chunk_encoder *e)
{
    pthread_mutex_lock(&e->lock);
    e->stopping = 1;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    for (int i = 0; e->threads && i < e->thread_count; i++)
        if (e->threads[i].running) {
            pthread_join(e->threads[i].thread, NULL);
            e->threads[i].running = 0;
        }
}

int pgb_chunk_encoder_finish(pgb_chunk_encoder *e, pgb_chunk_done_fn done, void *payload)
{
    pthread_mutex_lock(&e->lock);
    int rc = PGB_OK, first = PGB_OK;
    while (e->next_collect < e->next_submit) {
        int collected = 0;
        rc = collect_one(e, 1, done, payload, &collected);
        if (rc != PGB_OK && first == PGB_OK)
            first = rc;
    }
    pthread_mutex_unlock(&e->lock);
    stop_threads(e);
    /* The threads are gone: their contexts are ours now. */
    for (int i = 0; first == PGB_OK && i < e->thread_count; i++) {
        struct encoder_thread *t = &e->threads[i];
        if (pgb_pack_writer_finish(t->packs) != PGB_OK)
            first = pgb_error_set(e->caller, pgb_ctx_errcode(t->worker.ctx), "%s", pgb_ctx_errmsg(t->worker.ctx));
    }
    return first;
}

uint64_t pgb_chunk_encoder_stored_bytes(const pgb_chunk_encoder *e)
{
    uint64_t bytes = 0;
    for (int i = 0; e && e->threads && i < e->thread_count; i++)
        if (e->threads[i].packs)
            bytes += pgb_pack_writer_stored_bytes(e->threads[i].packs);
    return bytes;
}

void pgb_chunk_encoder_free(pgb_chunk_encoder *e)
{
    if (!e)
        return;
    stop_threads(e);
    for (int i = 0; e->threads && i < e->thread_count; i++) {
        pgb_pack_writer_free(e->threads[i].packs);
        pgb_chunk_compressor_free(e->threads[i].compressor);
        pgb_repo_worker_close(&e->threads[i].worker);
    }
    for (size_t i = 0; e->slots && i < e->slot_count; i++)
        free(e->slots[i].data);
    free(e->slots);
    free(e->threads);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->changed);
    free(e);
}
