/*
 * Memory-backed ends of the pipeline, and helpers shared by every stream.
 */
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/stream.h"

int pgb_source_read_full(pgb_source *s, uint8_t *data, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        size_t n = 0;
        int rc = pgb_source_read(s, data + *got, size - *got, &n);
        if (rc != PGB_OK)
            return rc;
        if (n == 0)
            break;
        *got += n;
    }
    return PGB_OK;
}

struct memory_sink {
    pgb_sink base;
    uint8_t *data;
    size_t size, capacity;
};

static int memory_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct memory_sink *m = (struct memory_sink *)sink;
    if (m->size + size > m->capacity) {
        size_t capacity = m->capacity ? m->capacity : 4096;
        while (capacity < m->size + size)
            capacity *= 2;
        uint8_t *grown = realloc(m->data, capacity);
        if (!grown)
            return pgb_error_nomem(sink->ctx);
        m->data = grown;
        m->capacity = capacity;
    }
    if (size)
        memcpy(m->data + m->size, data, size);
    m->size += size;
    return PGB_OK;
}

static int memory_sink_finish(pgb_sink *sink)
{
    (void)sink;
    return PGB_OK;
}

static void memory_sink_destroy(pgb_sink *sink)
{
    struct memory_sink *m = (struct memory_sink *)sink;
    free(m->data);
    free(m);
}

static const struct pgb_sink_ops memory_sink_ops = {memory_sink_write, memory_sink_finish,
                                                    memory_sink_destroy};

int pgb_memory_sink_new(pgb_ctx *ctx, pgb_sink **out)
{
    struct memory_sink *m = calloc(1, sizeof(*m));
    if (!m)
        return pgb_error_nomem(ctx);
    m->base = (pgb_sink){&memory_sink_ops, ctx, NULL};
    *out = &m->base;
    return PGB_OK;
}

const uint8_t *pgb_memory_sink_data(const pgb_sink *sink, size_t *size)
{
    const struct memory_sink *m = (const struct memory_sink *)sink;
    *size = m->size;
    return m->data;
}

struct forward_sink {
    pgb_sink base;
    pgb_sink *target;
    uint64_t bytes;
};

static int forward_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct forward_sink *f = (struct forward_sink *)sink;
    f->bytes += size;
    return pgb_sink_write(f->target, data, size);
}

static int forward_sink_finish(pgb_sink *sink)
{
    (void)sink; /* the target belongs to someone else, who finishes it */
    return PGB_OK;
}

static void forward_sink_destroy(pgb_sink *sink)
{
    free(sink);
}

static const struct pgb_sink_ops forward_sink_ops = {forward_sink_write, forward_sink_finish, forward_sink_destroy};

int pgb_forward_sink_new(pgb_ctx *ctx, pgb_sink *target, pgb_sink **out)
{
    struct forward_sink *f = calloc(1, sizeof(*f));
    if (!f)
        return pgb_error_nomem(ctx);
    f->base = (pgb_sink){&forward_sink_ops, ctx, NULL};
    f->target = target;
    *out = &f->base;
    return PGB_OK;
}

uint64_t pgb_forward_sink_bytes(const pgb_sink *sink)
{
    return ((const struct forward_sink *)sink)->bytes;
}

struct memory_source {
    pgb_source base;
    const uint8_t *data;
    size_t size, offset;
};

static int memory_source_read(pgb_source *source, uint8_t *data, size_t size, size_t *got)
{
    struct memory_source *m = (struct memory_source *)source;
    size_t left = m->size - m->offset;
    *got = size < left ? size : left;
    if (*got)
        memcpy(data, m->data + m->offset, *got);
    m->offset += *got;
    return PGB_OK;
}

static void memory_source_destroy(pgb_source *source)
{
    free(source);
}

static const struct pgb_source_ops memory_source_ops = {memory_source_read, memory_source_destroy};

int pgb_memory_source_new(pgb_ctx *ctx, const uint8_t *data, size_t size, pgb_source **out)
{
    struct memory_source *m = calloc(1, sizeof(*m));
    if (!m)
        return pgb_error_nomem(ctx);
    m->base = (pgb_source){&memory_source_ops, ctx, NULL};
    m->data = data;
    m->size = size;
    *out = &m->base;
    return PGB_OK;
}
