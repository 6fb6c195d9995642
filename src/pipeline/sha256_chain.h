/*
 * A file's SHA-256 computed piece by piece, with the hash state written down
 * at piece boundaries ("links"). SHA-256 is a chain: the state after a piece
 * depends only on the state before it and the piece's bytes. A backup records
 * the state after each chunk of a file; a reader can then check any chunk on
 * its own (resume from the link before it, hash it, compare with its link),
 * so chunks of one large file are checked in parallel, and checking every
 * link plus the final digest proves the whole file's SHA-256, the same value
 * PostgreSQL's backup_manifest holds.
 *
 * Links exist only at offsets that are multiples of 64 bytes (SHA-256's block).
 */
#ifndef PGB_PIPELINE_SHA256_CHAIN_H
#define PGB_PIPELINE_SHA256_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define PGB_SHA256_LINK_SIZE 32
#define PGB_SHA256_BLOCK 64

/* Room for OpenSSL's SHA-256 state; opaque. */
struct pgb_sha256_chain {
    _Alignas(8) unsigned char state[128];
};

/* Start at offset 0 (the empty prefix). */
void pgb_sha256_chain_start(struct pgb_sha256_chain *c);

/*
 * Start after offset bytes whose hash state is link. Returns 0, or -1 when
 * offset is not a multiple of PGB_SHA256_BLOCK.
 */
int pgb_sha256_chain_resume(struct pgb_sha256_chain *c, const uint8_t link[PGB_SHA256_LINK_SIZE],
                            uint64_t offset);

void pgb_sha256_chain_update(struct pgb_sha256_chain *c, const void *data, size_t size);

/* The link at the current offset. Returns 0, or -1 when the offset is not a multiple of PGB_SHA256_BLOCK. */
int pgb_sha256_chain_link(const struct pgb_sha256_chain *c, uint8_t out[PGB_SHA256_LINK_SIZE]);

/* The SHA-256 of everything hashed since offset 0. The chain must be started again after this. */
void pgb_sha256_chain_final(struct pgb_sha256_chain *c, uint8_t out[32]);

#endif
