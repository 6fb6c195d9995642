/*
 * Hexadecimal text for digests and keys, as manifests and messages show them.
 */
#ifndef PGB_CORE_HEX_H
#define PGB_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

/* Write size bytes as lower-case hex into out, which holds 2 * size + 1 chars. */
void pgb_hex_encode(const uint8_t *data, size_t size, char *out);

/*
 * Read exactly size bytes from hex, which must be exactly 2 * size hex digits
 * (either case). Returns 0, or PGB_EINVALID naming the text; out is then
 * unspecified.
 */
int pgb_hex_decode(pgb_ctx *ctx, const char *hex, uint8_t *out, size_t size);

#endif
