/*
 * Streams of the pipeline. Writing pushes bytes through a chain of sinks
 * (checksum -> compress -> encrypt -> storage); reading pulls them through a
 * chain of sources (storage -> decrypt -> decompress -> checksum). Each stage
 * owns the next one and holds at most a few buffers, so memory is bounded by
 * buffer sizes, never by the size of the data.
 */
#ifndef PGB_PIPELINE_STREAM_H
#define PGB_PIPELINE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

typedef struct pgb_sink pgb_sink;
typedef struct pgb_source pgb_source;

struct pgb_sink_ops {
    /* Take size bytes; returns 0 or a PGB_E* code recorded in the sink's ctx. */
    int (*write)(pgb_sink *sink, const uint8_t *data, size_t size);
    /* No more data: flush everything and finish the next sink too. */
    int (*finish)(pgb_sink *sink);
    /* Free this stage and the next one (after finish, or to abandon the stream). */
    void (*destroy)(pgb_sink *sink);
};

struct pgb_sink {
    const struct pgb_sink_ops *ops;
    pgb_ctx *ctx;
    pgb_sink *next; /* owned; NULL for the last stage */
};

struct pgb_source_ops {
    /* Fill up to size bytes; *got = 0 only at the end of the stream. */
    int (*read)(pgb_source *source, uint8_t *data, size_t size, size_t *got);
    /* Free this stage and the one it reads from. */
    void (*destroy)(pgb_source *source);
};

struct pgb_source {
    const struct pgb_source_ops *ops;
    pgb_ctx *ctx;
    pgb_source *upstream; /* owned; NULL for the first stage */
};

static inline int pgb_sink_write(pgb_sink *s, const uint8_t *data, size_t size)
{
    return s->ops->write(s, data, size);
}
static inline int pgb_sink_finish(pgb_sink *s) { return s->ops->finish(s); }
static inline void pgb_sink_destroy(pgb_sink *s)
{
    if (s)
        s->ops->destroy(s);
}
static inline int pgb_source_read(pgb_source *s, uint8_t *data, size_t size, size_t *got)
{
    return s->ops->read(s, data, size, got);
}
static inline void pgb_source_destroy(pgb_source *s)
{
    if (s)
        s->ops->destroy(s);
}

/* Read until size bytes or the end; *got < size only at the end. */
int pgb_source_read_full(pgb_source *s, uint8_t *data, size_t size, size_t *got);

/* A sink that appends to a growing memory buffer (tests, small objects). */
int pgb_memory_sink_new(pgb_ctx *ctx, pgb_sink **out);
/* The bytes written so far; owned by the sink. */
const uint8_t *pgb_memory_sink_data(const pgb_sink *sink, size_t *size);

/*
 * A sink that passes bytes on to target, which it does not own: finishing or
 * destroying it leaves target alone. It counts the bytes, so that an object
 * written into a larger stream (a pack) knows its length.
 */
int pgb_forward_sink_new(pgb_ctx *ctx, pgb_sink *target, pgb_sink **out);
uint64_t pgb_forward_sink_bytes(const pgb_sink *sink);

/* A source that reads a memory buffer it does not own. */
int pgb_memory_source_new(pgb_ctx *ctx, const uint8_t *data, size_t size, pgb_source **out);

#endif
