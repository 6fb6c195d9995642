/*
 * Reading a pg_dump custom-format archive as it streams from pg_dump's stdout,
 * without holding it: the header and table of contents are kept (they come
 * first), then each data block is only measured (block type, dump id, chunks
 * of length-prefixed bytes: pg_backup_custom.c _StartData/_CustomWriteFunc,
 * _LoadLOs for large objects) so that its offset and length are known.
 *
 * Archive versions 1.12 to 1.16 (pg_dump 9.5 to 17) are understood; any other
 * is PGB_EUNSUPPORTED. Bytes that are not such an archive are PGB_ECORRUPT.
 */
#ifndef PGB_LOGICAL_ARCHIVE_SCANNER_H
#define PGB_LOGICAL_ARCHIVE_SCANNER_H

#include <stddef.h>
#include <stdint.h>

#include "logical/archive_toc.h"

typedef struct pgb_archive_scanner pgb_archive_scanner;

int pgb_archive_scanner_new(pgb_ctx *ctx, pgb_archive_scanner **out);

/* The next bytes of the archive. */
int pgb_archive_scanner_feed(pgb_archive_scanner *s, const void *data, size_t size);

/* The archive ended: it must end after a whole data block (or its TOC). */
int pgb_archive_scanner_finish(pgb_archive_scanner *s);

/* The header and TOC bytes, once the TOC was read (after finish at the latest); owned by s. */
const uint8_t *pgb_archive_scanner_prefix(const pgb_archive_scanner *s, size_t *size);

/* The TOC with every block's offset (complete after finish); owned by s. */
const struct pgb_archive_toc *pgb_archive_scanner_toc(const pgb_archive_scanner *s);

void pgb_archive_scanner_free(pgb_archive_scanner *s);

/*
 * Parse the header and TOC at the start of data (size bytes). *complete is 0
 * when more bytes are needed (toc is then cleared); otherwise toc->prefix_size
 * says where the TOC ends. For the scanner, for the toc.dat of directory
 * archives (whose entries name their data file instead of an offset), and
 * for tests.
 */
int pgb_archive_parse_toc(pgb_ctx *ctx, const uint8_t *data, size_t size, struct pgb_archive_toc *toc,
                          int *complete);

#endif
