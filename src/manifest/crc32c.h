/*
 * CRC-32C (Castagnoli), the checksum PostgreSQL uses by default for the files
 * of a backup manifest. Streaming: start from pgb_crc32c_init(), feed bytes
 * through pgb_crc32c_update(), finish with pgb_crc32c_final().
 */
#ifndef PGB_MANIFEST_CRC32C_H
#define PGB_MANIFEST_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The register before any byte: all ones, as INIT_CRC32C in pg_crc32c.h. */
static inline uint32_t pgb_crc32c_init(void)
{
    return 0xFFFFFFFFu;
}

/* Add size bytes; uses the CPU's CRC32 instruction when it has one. */
uint32_t pgb_crc32c_update(uint32_t crc, const void *data, size_t size);

/* The same with a table only, whatever the CPU: tests compare both paths. */
uint32_t pgb_crc32c_update_portable(uint32_t crc, const void *data, size_t size);

/* The final value (FIN_CRC32C): "123456789" gives 0xE3069283. */
static inline uint32_t pgb_crc32c_final(uint32_t crc)
{
    return crc ^ 0xFFFFFFFFu;
}

#endif
