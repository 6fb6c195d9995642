/*
 * Writes seed objects for fuzz_object: each codec, plain and sealed with the
 * fixed keys of the target (first byte 0 or 1 as the target reads it).
 *   make_object_seeds DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>
#include <pgbackup/storage.h>

#include "pipeline/compress.h"
#include "pipeline/object.h"
#include "pipeline/x25519.h"

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    pgb_ctx *ctx;
    pgb_storage *storage;
    if (pgb_ctx_new(&ctx) || pgb_storage_open(&storage, ctx, argv[1], NULL))
        return 1;
    struct pgb_keyset sealed = {.encrypted = 1, .has_private = 1, .has_writer = 1};
    memset(sealed.repository_private, 0x42, 32);
    memset(sealed.writer, 0x44, 32);
    pgb_x25519_public_from_private(ctx, sealed.repository_private, sealed.repository_public);
    struct pgb_keyset plain = {0};
    char text[3000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (char)('a' + i % 7);
    int written = 0;
    for (int codec = PGB_CODEC_NONE; codec <= PGB_CODEC_GZIP; codec++)
        for (int seal = 0; seal <= PGB_SEAL_WRITER; seal++) {
            struct pgb_object_spec spec = {.codec = codec, .level = codec ? 1 : 0, .seal = seal ? seal : 1};
            char key[64];
            snprintf(key, sizeof(key), "seed-%d-%d", codec, seal);
            if (pgb_object_put(storage, key, seal ? &sealed : &plain, &spec, text, sizeof(text), NULL) != 0) {
                fprintf(stderr, "%s\n", pgb_ctx_errmsg(ctx));
                return 1;
            }
            /* The target reads the first byte as "which keys": prepend it. */
            void *stored;
            size_t size;
            pgb_storage_get(storage, key, &stored, &size);
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s.seed", argv[1], key);
            FILE *f = fopen(path, "wb");
            fputc(seal ? 1 : 0, f);
            fwrite(stored, 1, size, f);
            fclose(f);
            pgb_free(stored);
            written++;
        }
    printf("%d object seeds written\n", written);
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    return 0;
}
