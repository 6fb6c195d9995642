/*
 * Fuzz target: the pg_dump custom-format archive scanner (outside input: the
 * output of a client program, and archives read back from a repository), fed
 * in uneven pieces as a pipe delivers them, then its TOC through JSON and
 * back, and the offsets written into a copy of its TOC bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/ctx.h>

#include "logical/archive_scanner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgb_ctx *ctx = NULL;
    pgb_archive_scanner *s = NULL;
    if (pgb_ctx_new(&ctx) != 0 || pgb_archive_scanner_new(ctx, &s) != 0) {
        pgb_ctx_free(ctx);
        return 0;
    }
    size_t piece = 1 + size % 997;
    int rc = 0;
    for (size_t at = 0; rc == 0 && at < size; at += piece)
        rc = pgb_archive_scanner_feed(s, data + at, size - at < piece ? size - at : piece);
    if (rc == 0 && pgb_archive_scanner_finish(s) == 0) {
        const struct pgb_archive_toc *toc = pgb_archive_scanner_toc(s);
        json_t *doc = pgb_archive_toc_to_json(toc);
        struct pgb_archive_toc back;
        if (doc && pgb_archive_toc_from_json(ctx, doc, &back) == 0)
            pgb_archive_toc_clear(&back);
        json_decref(doc);
        size_t prefix_size = 0;
        const uint8_t *prefix = pgb_archive_scanner_prefix(s, &prefix_size);
        uint8_t *copy = prefix_size ? malloc(prefix_size) : NULL;
        if (copy) {
            memcpy(copy, prefix, prefix_size);
            pgb_archive_toc_patch_offsets(toc, copy, prefix_size);
            free(copy);
        }
    }
    pgb_archive_scanner_free(s);
    pgb_ctx_free(ctx);
    return 0;
}
