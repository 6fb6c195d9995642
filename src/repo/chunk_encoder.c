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

enum { SLOTS = 4 };
enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_DONE };

struct slot {
    int state;
    uint8_t *data;
    size_t size;
    struct pgb_stored_chunk chunk; /* filled by the thread */
    int reused;
    size_t entry, chunk_number;
    int rc;
    char message[512];
};

struct pgb_chunk_encoder {
    pgb_ctx *caller;               /* the calling thread's context: errors end up here */
    struct pgb_repo_worker worker; /* the thread's own context, storage handle and repository view */
    pgb_pack_writer *packs;
    pgb_chunk_compressor *compressor;
    pgb_chunk_store_fn store;
    void *store_payload;
    pthread_t thread;
    int running, stopping;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct slot slots[SLOTS];
    size_t next_submit, next_work, next_collect; /* counters; slot = counter % SLOTS */
    int failed;                    /* a slot failed: the first error was handed over */
};

static void *encoder_main(void *arg)
{
    pgb_chunk_encoder *e = arg;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        struct slot *s = &e->slots[e->next_work % SLOTS];
        while (s->state != SLOT_QUEUED && !e->stopping)
            pthread_cond_wait(&e->changed, &e->lock);
        if (s->state != SLOT_QUEUED)
            break;
        pthread_mutex_unlock(&e->lock);
        /* Only this thread touches the slot while it is queued, and the worker context at all. */
        s->reused = 0;
        int rc = e->store(e->store_payload, e->worker.repo, e->compressor, e->packs, s->data, s->size, &s->chunk,
                          &s->reused);
        if (rc != PGB_OK)
            snprintf(s->message, sizeof(s->message), "%s", pgb_ctx_errmsg(e->worker.ctx));
        pthread_mutex_lock(&e->lock);
        s->rc = rc;
        s->state = SLOT_DONE;
        e->next_work++;
        pthread_cond_broadcast(&e->changed);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

int pgb_chunk_encoder_start(pgb_chunk_encoder **out, struct pgb_repo *repo, int codec, int level,
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
    int rc = pgb_repo_worker_open(&e->worker, repo);
    for (int i = 0; rc == PGB_OK && i < SLOTS; i++)
        if (!(e->slots[i].data = malloc(PGB_CHUNK_SIZE)))
            rc = pgb_error_nomem(repo->ctx);
    if (rc == PGB_OK && pgb_pack_writer_new(&e->packs, e->worker.repo, codec, level, PGB_PACK_TARGET_SIZE) != PGB_OK)
        rc = pgb_error_nomem(repo->ctx);
    if (rc == PGB_OK && pgb_chunk_compressor_new(e->worker.ctx, codec, level, &e->compressor) != PGB_OK)
        rc = pgb_error_set(repo->ctx, pgb_ctx_errcode(e->worker.ctx), "%s", pgb_ctx_errmsg(e->worker.ctx));
    if (rc == PGB_OK && pthread_create(&e->thread, NULL, encoder_main, e) != 0)
        rc = pgb_error_set(repo->ctx, PGB_ERROR, "cannot start the chunk encoder thread");
    if (rc != PGB_OK) {
        pgb_chunk_encoder_free(e);
        return rc;
    }
    e->running = 1;
    *out = e;
    return PGB_OK;
}

/* Hand the oldest finished chunk to done (lock held on entry and exit). */
static int collect_one(pgb_chunk_encoder *e, int wait, pgb_chunk_done_fn done, void *payload, int *collected)
{
    struct slot *s = &e->slots[e->next_collect % SLOTS];
    *collected = 0;
    while (wait && s->state == SLOT_QUEUED)
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
        rc = collect_one(e, e->next_submit - e->next_collect == SLOTS, done, payload, &collected);
    if (rc == PGB_OK) {
        struct slot *s = &e->slots[e->next_submit % SLOTS];
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

static void stop_thread(pgb_chunk_encoder *e)
{
    if (!e->running)
        return;
    pthread_mutex_lock(&e->lock);
    e->stopping = 1;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    e->running = 0;
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
    stop_thread(e);
    /* The thread is gone: its context is ours now. */
    if (first == PGB_OK && pgb_pack_writer_finish(e->packs) != PGB_OK)
        first = pgb_error_set(e->caller, pgb_ctx_errcode(e->worker.ctx), "%s", pgb_ctx_errmsg(e->worker.ctx));
    return first;
}

uint64_t pgb_chunk_encoder_stored_bytes(const pgb_chunk_encoder *e)
{
    return e && e->packs ? pgb_pack_writer_stored_bytes(e->packs) : 0;
}

void pgb_chunk_encoder_free(pgb_chunk_encoder *e)
{
    if (!e)
        return;
    stop_thread(e);
    pgb_pack_writer_free(e->packs);
    pgb_chunk_compressor_free(e->compressor);
    pgb_repo_worker_close(&e->worker);
    for (int i = 0; i < SLOTS; i++)
        free(e->slots[i].data);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->changed);
    free(e);
}
