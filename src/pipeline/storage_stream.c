#include "pipeline/storage_stream.h"

#include <stdlib.h>

#include <pgbackup/error.h>

#include "core/error.h"

struct storage_sink {
    pgb_sink base;
    pgb_storage_writer *writer;
    uint64_t bytes;
};

static int storage_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct storage_sink *s = (struct storage_sink *)sink;
    s->bytes += size;
    return pgb_storage_writer_write(s->writer, data, size);
}

static int storage_sink_finish(pgb_sink *sink)
{
    (void)sink; /* the object writer commits once the whole chain is finished */
    return PGB_OK;
}

static void storage_sink_destroy(pgb_sink *sink)
{
    free(sink);
}

static const struct pgb_sink_ops storage_sink_ops = {storage_sink_write, storage_sink_finish,
                                                     storage_sink_destroy};

int pgb_storage_sink_new(pgb_ctx *ctx, pgb_storage_writer *writer, pgb_sink **out)
{
    struct storage_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    s->base = (pgb_sink){&storage_sink_ops, ctx, NULL};
    s->writer = writer;
    *out = &s->base;
    return PGB_OK;
}

uint64_t pgb_storage_sink_bytes(const pgb_sink *sink)
{
    return ((const struct storage_sink *)sink)->bytes;
}

struct storage_source {
    pgb_source base;
    pgb_storage_reader *reader;
};

static int storage_source_read(pgb_source *source, uint8_t *data, size_t size, size_t *got)
{
    return pgb_storage_reader_read(((struct storage_source *)source)->reader, data, size, got);
}

static void storage_source_destroy(pgb_source *source)
{
    pgb_storage_reader_close(((struct storage_source *)source)->reader);
    free(source);
}

static const struct pgb_source_ops storage_source_ops = {storage_source_read, storage_source_destroy};

int pgb_storage_source_new(pgb_ctx *ctx, pgb_storage_reader *reader, pgb_source **out)
{
    struct storage_source *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    s->base = (pgb_source){&storage_source_ops, ctx, NULL};
    s->reader = reader;
    *out = &s->base;
    return PGB_OK;
}
