/*
 * Public entry point of key generation.
 */
#include <pgbackup/error.h>
#include <pgbackup/keys.h>

#include "core/context.h"
#include "core/error.h"
#include "pipeline/key_files.h"

int pgb_keygen(pgb_ctx *ctx, const char *path)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    if (!path || !path[0])
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_keygen: a file name is required");
    return pgb_key_files_generate(ctx, path);
}
