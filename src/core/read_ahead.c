#include "core/read_ahead.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct block {
    uint8_t *data;
    size_t size;
    int filled; /* by the reader; the consumer empties it */
};

struct read_ahead {
    int fd;
    size_t block_size;
    int count;
    struct block *blocks;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int done;  /* the reader reached the end or failed */
    int error; /* errno of the failed read, 0 at the end */
};

/* Fill one block: reads until it is full or the file ends. */
static int fill(struct read_ahead *r, struct block *b)
{
    b->size = 0;
    while (b->size < r->block_size) {
        ssize_t got = read(r->fd, b->data + b->size, r->block_size - b->size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return errno;
        if (got == 0)
            break;
        b->size += (size_t)got;
    }
    return 0;
}

static void *reader_main(void *arg)
{
    struct read_ahead *r = arg;
    for (int i = 0;; i = (i + 1) % r->count) {
        struct block *b = &r->blocks[i];
        pthread_mutex_lock(&r->lock);
        while (b->filled)
            pthread_cond_wait(&r->changed, &r->lock);
        pthread_mutex_unlock(&r->lock);
        int error = fill(r, b);
        pthread_mutex_lock(&r->lock);
        if (error == 0 && b->size > 0)
            b->filled = 1;
        if (error != 0 || b->size < r->block_size) {
            r->done = 1;
            r->error = error;
        }
        pthread_cond_broadcast(&r->changed);
        int finished = r->done;
        pthread_mutex_unlock(&r->lock);
        if (finished)
            break;
    }
    return NULL;
}

int pgb_read_ahead(int fd, size_t block_size, int blocks, pgb_read_ahead_fn consume, void *payload)
{
    struct read_ahead r = {.fd = fd, .block_size = block_size, .count = blocks < 2 ? 2 : blocks};
    r.blocks = calloc((size_t)r.count, sizeof(*r.blocks));
    int rc = r.blocks ? 0 : ENOMEM;
    for (int i = 0; rc == 0 && i < r.count; i++)
        if (!(r.blocks[i].data = malloc(block_size)))
            rc = ENOMEM;
    pthread_t thread;
    if (rc == 0) {
        pthread_mutex_init(&r.lock, NULL);
        pthread_cond_init(&r.changed, NULL);
        if (pthread_create(&thread, NULL, reader_main, &r) != 0) {
            pthread_mutex_destroy(&r.lock);
            pthread_cond_destroy(&r.changed);
            rc = EAGAIN;
        }
    }
    if (rc == 0) {
        for (int i = 0;; i = (i + 1) % r.count) {
            struct block *b = &r.blocks[i];
            pthread_mutex_lock(&r.lock);
            while (!b->filled && !r.done)
                pthread_cond_wait(&r.changed, &r.lock);
            int filled = b->filled;
            pthread_mutex_unlock(&r.lock);
            if (!filled)
                break; /* the reader ended before this block: all before it was consumed */
            consume(payload, b->data, b->size);
            pthread_mutex_lock(&r.lock);
            b->filled = 0;
            pthread_cond_broadcast(&r.changed);
            pthread_mutex_unlock(&r.lock);
        }
        pthread_join(thread, NULL);
        rc = r.error;
        pthread_mutex_destroy(&r.lock);
        pthread_cond_destroy(&r.changed);
    }
    for (int i = 0; r.blocks && i < r.count; i++)
        free(r.blocks[i].data);
    free(r.blocks);
    return rc;
}
