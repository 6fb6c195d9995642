#include "repo/chunk_check.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/sha256_chain.h"
#include "repo/content_writer.h"
#include "repo/pack.h"

uint64_t pgb_chunk_offset(const struct pgb_file_entry *e, size_t index)
{
    uint64_t offset = 0;
    for (size_t i = 0; i < index && i < e->chunk_count; i++)
        offset += e->chunks[i].ref.plain_size;
    return offset;
}

int pgb_chunk_matches(const struct pgb_file_entry *e, size_t index, uint64_t offset, const uint8_t *data,
                      size_t size)
{
    if (index >= e->chunk_count || size != e->chunks[index].ref.plain_size)
        return 0;
    uint8_t got[32];
    if (!e->chained) {
        unsigned int length = 0;
        return EVP_Digest(data, size, got, &length, EVP_sha256(), NULL) == 1 &&
               CRYPTO_memcmp(got, e->chunks[index].ref.sha256, sizeof(got)) == 0;
    }
    struct pgb_sha256_chain chain;
    if (index == 0)
        pgb_sha256_chain_start(&chain);
    else if (pgb_sha256_chain_resume(&chain, e->chunks[index - 1].link, offset) != 0)
        return 0;
    pgb_sha256_chain_update(&chain, data, size);
    if (index + 1 == e->chunk_count) {
        pgb_sha256_chain_final(&chain, got);
        return CRYPTO_memcmp(got, e->sha256, sizeof(got)) == 0;
    }
    return pgb_sha256_chain_link(&chain, got) == 0 && CRYPTO_memcmp(got, e->chunks[index].link, sizeof(got)) == 0;
}

int pgb_chunk_read_checked(struct pgb_repo *repo, const struct pgb_file_entry *e, size_t index, uint64_t offset,
                           pgb_chunk_decompressor *d, uint8_t *buffer, size_t *got)
{
    const struct pgb_chunk_ref *ref = &e->chunks[index].ref;
    *got = 0;
    if (ref->plain_size > PGB_CHUNK_SIZE)
        return pgb_error_set(repo->ctx, PGB_ECORRUPT, "chunk %zu of %s is larger (%llu bytes) than any chunk "
                             "this version writes", index, e->path, (unsigned long long)ref->plain_size);
    int rc = pgb_chunk_read_whole(repo, ref, d, buffer, PGB_CHUNK_SIZE + 1, got);
    if (rc == PGB_OK && !pgb_chunk_matches(e, index, offset, buffer, *got))
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "chunk %zu of %s (bytes %llu to %llu) does not match %s", index,
                           e->path, (unsigned long long)offset, (unsigned long long)(offset + ref->plain_size),
                           e->chained ? "the file's SHA-256 chain" : "its SHA-256");
    return rc;
}
