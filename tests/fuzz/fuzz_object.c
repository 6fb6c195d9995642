/*
 * Fuzz target: reading a stored object (header, digest trailer or
 * authenticated chunks, decompression, SHA-256), the input being the object's
 * stored bytes; a repository may be damaged or tampered with. The first byte
 * chooses the keys: none, or a fixed key set (so encrypted headers parse).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pgbackup/ctx.h>
#include <pgbackup/storage.h>

#include "pipeline/object.h"
#include "pipeline/x25519.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char root[64];
    if (!root[0]) {
        snprintf(root, sizeof(root), "/tmp/pgb-fuzz-object-XXXXXX");
        if (!mkdtemp(root))
            abort();
    }
    if (size == 0)
        return 0;
    pgb_ctx *ctx = NULL;
    pgb_storage *storage = NULL;
    if (pgb_ctx_new(&ctx) != 0 || pgb_storage_open(&storage, ctx, root, NULL) != 0)
        abort();
    struct pgb_keyset keys = {0};
    if (data[0] & 1) {
        keys = (struct pgb_keyset){.encrypted = 1, .has_private = 1, .has_writer = 1};
        memset(keys.repository_private, 0x42, 32); /* the keys of make_object_seeds */
        memset(keys.writer, 0x44, 32);
        pgb_x25519_public_from_private(ctx, keys.repository_private, keys.repository_public);
    }
    if (pgb_storage_put(storage, "object", data + 1, size - 1, 0) == 0) {
        void *plain = NULL;
        size_t plain_size = 0;
        if (pgb_object_get(storage, "object", &keys, &plain, &plain_size) == 0)
            free(plain);
    }
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    return 0;
}
