/*
 * Fuzz target: the tar reader of BASE_BACKUP archives (outside input: it
 * comes from the server over the network).
 */
#include <stddef.h>
#include <stdint.h>

#include <pgbackup/ctx.h>

#include "pg/tar_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct memory {
    const uint8_t *data;
    size_t size, offset;
};

/* Hand the archive out in uneven pieces, as CopyData messages arrive. */
static int next_piece(void *payload, const uint8_t **data, size_t *size)
{
    struct memory *m = payload;
    size_t piece = m->size - m->offset < 777 ? m->size - m->offset : 777;
    *data = m->data + m->offset;
    *size = piece;
    m->offset += piece;
    return 0;
}

static int consume(void *payload, const uint8_t *data, size_t size)
{
    (void)payload, (void)data, (void)size;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgb_ctx *ctx = NULL;
    if (pgb_ctx_new(&ctx) != 0)
        return 0;
    struct memory m = {data, size, 0};
    struct pgb_tar_source source = {&m, next_piece};
    struct pgb_tar_entry_callbacks callbacks = {NULL, NULL, consume, NULL};
    pgb_tar_stream_read(ctx, &source, "fuzz.tar", size % 2 ? 16385 : 0, &callbacks);
    pgb_ctx_free(ctx);
    return 0;
}
