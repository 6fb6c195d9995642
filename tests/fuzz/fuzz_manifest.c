/*
 * Fuzz target: PostgreSQL backup_manifest parser (outside input: it comes from
 * the server or from a directory being verified).
 */
#include <stddef.h>
#include <stdint.h>

#include <pgbackup/ctx.h>

#include "manifest/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgb_ctx *ctx = NULL;
    if (pgb_ctx_new(&ctx) != 0)
        return 0;
    struct pgb_manifest *manifest = NULL;
    if (pgb_manifest_parse(ctx, "fuzz", data, size, &manifest) == 0) {
        for (size_t i = 0; i < pgb_manifest_file_count(manifest); i++)
            pgb_manifest_find(manifest, pgb_manifest_file_at(manifest, i)->path);
        pgb_manifest_free(manifest);
    }
    pgb_ctx_free(ctx);
    return 0;
}
