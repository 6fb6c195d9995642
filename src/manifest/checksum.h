/*
 * The checksums a backup manifest may give for a file (PostgreSQL's
 * src/common/checksum_helper.c): none, CRC-32C, SHA-224/256/384/512.
 *
 * Streaming (init, update, final) so that a file of any size is checked with
 * one buffer. These functions take no context: worker threads call them, and
 * a pgb_ctx belongs to one thread.
 */
#ifndef PGB_MANIFEST_CHECKSUM_H
#define PGB_MANIFEST_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

enum pgb_checksum_type {
    PGB_CHECKSUM_NONE = 0,
    PGB_CHECKSUM_CRC32C,
    PGB_CHECKSUM_SHA224,
    PGB_CHECKSUM_SHA256,
    PGB_CHECKSUM_SHA384,
    PGB_CHECKSUM_SHA512
};

/* The longest checksum (SHA-512), as PG_CHECKSUM_MAX_LENGTH. */
#define PGB_CHECKSUM_MAX_SIZE 64

struct evp_md_ctx_st;

struct pgb_checksum {
    enum pgb_checksum_type type;
    uint32_t crc;
    struct evp_md_ctx_st *digest; /* OpenSSL state for the SHA family */
};

/* The name the manifest uses ("SHA256"), or NULL for an unknown type. */
const char *pgb_checksum_type_name(enum pgb_checksum_type type);

/* Read a manifest's Checksum-Algorithm, in any case. Returns 0, or -1 when unknown. */
int pgb_checksum_type_from_name(const char *name, enum pgb_checksum_type *type);

/* Bytes of a checksum of this type: 0 for NONE, 4 for CRC32C, 28 to 64 for SHA. */
size_t pgb_checksum_type_size(enum pgb_checksum_type type);

/* Start a checksum. Returns 0, PGB_ENOMEM, or PGB_EINVALID for an unknown type. */
int pgb_checksum_init(struct pgb_checksum *checksum, enum pgb_checksum_type type);

/* Add bytes. Returns 0, or PGB_ERROR when OpenSSL fails. */
int pgb_checksum_update(struct pgb_checksum *checksum, const void *data, size_t size);

/*
 * Finish: out receives the bytes as the manifest shows them in hex, *size
 * their number. CRC-32C is written in little-endian order, which is what
 * PostgreSQL writes on x86 and arm64 (it copies the integer's memory).
 * Releases the state whatever the outcome. Returns 0 or PGB_ERROR.
 */
int pgb_checksum_final(struct pgb_checksum *checksum, uint8_t out[PGB_CHECKSUM_MAX_SIZE], size_t *size);

/* Release the state of a checksum that will not be finished (safe after final). */
void pgb_checksum_cleanup(struct pgb_checksum *checksum);

#endif
