/*
 * Fuzz target: splitting a globals script (pg_dumpall's output, read back from
 * a backup) into statements.
 */
#include <stddef.h>
#include <stdint.h>

#include <pgbackup/ctx.h>

#include "logical/sql_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgb_ctx *ctx = NULL;
    if (pgb_ctx_new(&ctx) != 0)
        return 0;
    char **statements = NULL;
    size_t count = 0;
    if (pgb_sql_split(ctx, (const char *)data, size, &statements, &count) == 0)
        pgb_sql_statements_free(statements);
    pgb_ctx_free(ctx);
    return 0;
}
