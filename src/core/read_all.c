#include "core/read_all.h"

#include <stdint.h>
#include <stdlib.h>

#include <pgbackup/error.h>

#include "core/error.h"

int pgb_read_all(pgb_ctx *ctx, pgb_read_fn read, void *reader, void **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    size_t capacity = 4096, used = 0;
    uint8_t *buffer = malloc(capacity + 1);
    if (!buffer)
        return pgb_error_nomem(ctx);
    for (;;) {
        size_t got = 0;
        int rc = read(reader, buffer + used, capacity - used, &got);
        if (rc != PGB_OK) {
            free(buffer);
            return rc;
        }
        if (got == 0)
            break;
        used += got;
        if (used == capacity) {
            uint8_t *grown = realloc(buffer, capacity * 2 + 1);
            if (!grown) {
                free(buffer);
                return pgb_error_nomem(ctx);
            }
            buffer = grown;
            capacity *= 2;
        }
    }
    buffer[used] = '\0';
    *data = buffer;
    *size = used;
    return PGB_OK;
}
