/*
 * Data page checksums, computed by PostgreSQL's own code
 * (src/include/storage/checksum_impl.h, from the server development package).
 */
#ifndef PGB_BACKUP_PAGE_CHECKSUM_H
#define PGB_BACKUP_PAGE_CHECKSUM_H

#include <stdint.h>

/* PostgreSQL's page size (BLCKSZ) as the checksum code was built for. */
#define PGB_PAGE_SIZE 8192

/*
 * The checksum PostgreSQL stores in pd_checksum for an 8 KiB page: page is
 * read, never changed (its pd_checksum counts as zero); block is the
 * relation-wide block number (segment number * blocks per segment + block in
 * the file). Thread-safe.
 */
uint16_t pgb_page_checksum(const char *page, uint32_t block);

#endif
