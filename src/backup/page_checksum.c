/*
 * pg_checksum_page() from PostgreSQL's checksum_impl.h, which exists for
 * external programs to include (pg_checksums and pg_basebackup's server side
 * use the same code). This is the only file that sees PostgreSQL's server
 * headers; CMake gives it their folder as a system include directory.
 */
#include "postgres_fe.h"

#include "storage/checksum.h"
#include "storage/checksum_impl.h"

#include <string.h>

#include "backup/page_checksum.h"

_Static_assert(BLCKSZ == PGB_PAGE_SIZE, "the server headers are for another page size");

uint16_t pgb_page_checksum(const char *page, uint32_t block)
{
    /*
     * pg_checksum_page() zeroes pd_checksum while it works and puts it back,
     * and reads the page as uint32 words: work on an aligned copy so that the
     * caller's buffer is never written and may have any alignment.
     */
    PGChecksummablePage copy;
    memcpy(&copy, page, sizeof(copy));
    return pg_checksum_page((char *)&copy, block);
}
