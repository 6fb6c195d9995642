/*
 * A program outside the tree: proves that the installed headers, library,
 * pkg-config file and CMake package are enough to build and run against
 * libpgbackup.
 */
#include <stdio.h>
#include <string.h>

#include <pgbackup/pgbackup.h>

int main(void)
{
    pgb_ctx *ctx = NULL;
    pgb_options *opts = NULL;
    if (pgb_ctx_new(&ctx) != PGB_OK || pgb_options_new(&opts, ctx) != PGB_OK)
        return 1;
    int failed = pgb_version() != PGB_VERSION_NUMBER;
    const char *value = NULL;
    failed |= pgb_options_get(opts, "compress", &value) != PGB_OK || strcmp(value, "zstd:3") != 0;
    failed |= pgb_options_set(opts, "jobs", "many") != PGB_EINVALID;
    printf("consumer: libpgbackup %s, error for a bad value: %s\n", pgb_version_string(),
           pgb_ctx_errmsg(ctx));
    pgb_options_free(opts);
    pgb_ctx_free(ctx);
    return failed;
}
