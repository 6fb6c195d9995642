/*
 * Checking one chunk on its own against its file's entry: every chunk of an
 * intact file passes, in any order (restore and verify check chunks on many
 * threads), and a flipped byte, a wrong size, a wrong link or a wrong digest
 * fails the chunks that depend on it and no others. Entries of format 1
 * (a SHA-256 per chunk, no links) are checked chunk by chunk too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "pipeline/sha256_chain.h"
#include "repo/chunk_check.h"
#include "repo/file_list.h"
#include "test_data.h"
#include "test_main.h"

#define MIB ((size_t)1024 * 1024)
#define CHUNKS 3

static const size_t chunk_sizes[CHUNKS] = {MIB, MIB, 1000};
static uint8_t *file_data; /* the file: 2 MiB + 1000 random bytes */
static size_t file_size;

static int setup(void)
{
    file_size = chunk_sizes[0] + chunk_sizes[1] + chunk_sizes[2];
    file_data = malloc(file_size);
    if (!file_data)
        return 1;
    uint64_t seed = 0x13198a2e03707344ull;
    for (size_t i = 0; i < file_size; i++)
        file_data[i] = (uint8_t)(test_xorshift(&seed) >> 24);
    return 0;
}

static int teardown(void)
{
    free(file_data);
    return 0;
}

static void evp_sha256(const uint8_t *bytes, size_t size, uint8_t out[32])
{
    CU_ASSERT_FATAL(test_sha256(bytes, size, out));
}

static size_t start_of(size_t index)
{
    size_t offset = 0;
    for (size_t i = 0; i < index; i++)
        offset += chunk_sizes[i];
    return offset;
}

/* The entry a backup of file_data writes: format 2, links from the chain, the last link the file's SHA-256. */
static void chained_entry(struct pgb_file_entry *e, struct pgb_stored_chunk chunks[CHUNKS])
{
    memset(e, 0, sizeof(*e));
    memset(chunks, 0, CHUNKS * sizeof(*chunks));
    e->path = "base/1/16384";
    e->type = PGB_FILE_REGULAR;
    e->mode = 0600;
    e->size = file_size;
    e->chained = 1;
    e->chunks = chunks;
    e->chunk_count = CHUNKS;
    evp_sha256(file_data, file_size, e->sha256);
    struct pgb_sha256_chain chain;
    pgb_sha256_chain_start(&chain);
    for (size_t i = 0; i < CHUNKS; i++) {
        chunks[i].ref.plain_size = chunk_sizes[i];
        pgb_sha256_chain_update(&chain, file_data + start_of(i), chunk_sizes[i]);
        if (i + 1 < CHUNKS)
            CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_link(&chain, chunks[i].link), 0);
    }
    pgb_sha256_chain_final(&chain, chunks[CHUNKS - 1].link);
    CU_ASSERT_FATAL(memcmp(chunks[CHUNKS - 1].link, e->sha256, 32) == 0);
}

/* The entry of format 1: each chunk's own SHA-256, no links. */
static void unchained_entry(struct pgb_file_entry *e, struct pgb_stored_chunk chunks[CHUNKS])
{
    chained_entry(e, chunks);
    e->chained = 0;
    for (size_t i = 0; i < CHUNKS; i++) {
        memset(chunks[i].link, 0, 32);
        evp_sha256(file_data + start_of(i), chunk_sizes[i], chunks[i].ref.sha256);
    }
}

/* Whether chunk index of file_data (or of bytes, when given) passes the check. */
static int chunk_passes(const struct pgb_file_entry *e, size_t index, const uint8_t *bytes)
{
    return pgb_chunk_matches(e, index, start_of(index), bytes ? bytes : file_data + start_of(index),
                             chunk_sizes[index]);
}

static void test_chunk_offsets_add_up_plain_sizes(void)
{
    struct pgb_file_entry e;
    struct pgb_stored_chunk chunks[CHUNKS];
    chained_entry(&e, chunks);
    CU_ASSERT_EQUAL(pgb_chunk_offset(&e, 0), 0);
    CU_ASSERT_EQUAL(pgb_chunk_offset(&e, 1), MIB);
    CU_ASSERT_EQUAL(pgb_chunk_offset(&e, 2), 2 * MIB);
    CU_ASSERT_EQUAL(pgb_chunk_offset(&e, 3), file_size);
    CU_ASSERT_EQUAL(pgb_chunk_offset(&e, 100), file_size);
}

static void test_every_chunk_passes_in_any_order(void)
{
    struct pgb_file_entry e;
    struct pgb_stored_chunk chunks[CHUNKS];
    chained_entry(&e, chunks);
    const size_t orders[][CHUNKS] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};
    for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++)
        for (size_t k = 0; k < CHUNKS; k++) {
            size_t i = orders[o][k];
            CU_ASSERT_EQUAL(pgb_chunk_matches(&e, i, pgb_chunk_offset(&e, i), file_data + start_of(i), chunk_sizes[i]),
                            1);
        }
}

static void test_flipped_byte_fails_its_chunk_only(void)
{
    struct pgb_file_entry e;
    struct pgb_stored_chunk chunks[CHUNKS];
    chained_entry(&e, chunks);
    uint8_t *copy = malloc(MIB);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    for (size_t i = 0; i < CHUNKS; i++) {
        size_t where[] = {0, chunk_sizes[i] / 2, chunk_sizes[i] - 1};
        for (size_t w = 0; w < 3; w++) {
            memcpy(copy, file_data + start_of(i), chunk_sizes[i]);
            copy[where[w]] ^= 0x80;
            CU_ASSERT_EQUAL(chunk_passes(&e, i, copy), 0);
            /* The other chunks are judged on their own bytes: still good. */
            for (size_t j = 0; j < CHUNKS; j++)
                if (j != i)
                    CU_ASSERT_EQUAL(chunk_passes(&e, j, NULL), 1);
        }
    }
    /* Another chunk's bytes of the same size in its place (a chunk read from the wrong place). */
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 1, MIB, file_data, MIB), 0);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 0, 0, file_data + MIB, MIB), 0);
    free(copy);
}

static void test_wrong_size_fails(void)
{
    struct pgb_file_entry e;
    struct pgb_stored_chunk chunks[CHUNKS];
    chained_entry(&e, chunks);
    /* Short and long reads of each chunk, including block-aligned ones that hash without error. */
    for (size_t i = 0; i < CHUNKS; i++) {
        size_t begin = start_of(i);
        CU_ASSERT_EQUAL(pgb_chunk_matches(&e, i, begin, file_data + begin, chunk_sizes[i] - 1), 0);
        CU_ASSERT_EQUAL(pgb_chunk_matches(&e, i, begin, file_data + begin, chunk_sizes[i] - 64), 0);
        if (begin + chunk_sizes[i] + 64 <= file_size)
            CU_ASSERT_EQUAL(pgb_chunk_matches(&e, i, begin, file_data + begin, chunk_sizes[i] + 64), 0);
        CU_ASSERT_EQUAL(pgb_chunk_matches(&e, i, begin, file_data + begin, 0), 0);
    }
    /* The entry's size is the one that counts: a record that says 999 bytes fails the real 1000. */
    chunks[2].ref.plain_size = 999;
    CU_ASSERT_EQUAL(chunk_passes(&e, 2, NULL), 0);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 2, 2 * MIB, file_data + 2 * MIB, 999), 0);
}

static void test_wrong_link_fails_the_chunks_that_use_it(void)
{
    struct pgb_file_entry e;
    struct pgb_stored_chunk chunks[CHUNKS];
    /* A link is checked by its own chunk and is where the next one starts. */
    for (size_t bad = 0; bad + 1 < CHUNKS; bad++) {
        chained_entry(&e, chunks);
        chunks[bad].link[bad * 7 % 32] ^= 0x01;
        for (size_t i = 0; i < CHUNKS; i++)
            CU_ASSERT_EQUAL(chunk_passes(&e, i, NULL), i != bad && i != bad + 1);
    }
    /* The last link must be the file's SHA-256: a wrong file digest fails the last chunk only. */
    chained_entry(&e, chunks);
    e.sha256[31] ^= 0x01;
    CU_ASSERT_EQUAL(chunk_passes(&e, 0, NULL), 1);
    CU_ASSERT_EQUAL(chunk_passes(&e, 1, NULL), 1);
    CU_ASSERT_EQUAL(chunk_passes(&e, 2, NULL), 0);
}

static void test_wrong_offset_or_index_fails(void)
{
    struct pgb_file_entry e;
    struct pgb_stored_chunk chunks[CHUNKS];
    chained_entry(&e, chunks);
    /* The last chunk's padding holds the file's length: another aligned offset gives another digest. */
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 2, 2 * MIB + 64, file_data + 2 * MIB, 1000), 0);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 2, MIB, file_data + 2 * MIB, 1000), 0);
    /* No link exists off a block boundary. */
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 1, MIB + 1, file_data + MIB, MIB), 0);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 2, 2 * MIB - 1, file_data + 2 * MIB, 1000), 0);
    /* A chunk the entry does not have. */
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 3, file_size, file_data, 1000), 0);
}

static void test_single_chunk_file_is_checked_against_its_sha256(void)
{
    struct pgb_stored_chunk chunk = {.ref.plain_size = 100};
    struct pgb_file_entry e = {.path = "PG_VERSION", .size = 100, .chained = 1, .chunks = &chunk, .chunk_count = 1};
    evp_sha256(file_data, 100, e.sha256);
    memcpy(chunk.link, e.sha256, 32);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 0, 0, file_data, 100), 1);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&e, 0, 0, file_data + 1, 100), 0);
    /* An empty file has no chunk to check. */
    struct pgb_file_entry empty = {.path = "empty", .chained = 1};
    evp_sha256(file_data, 0, empty.sha256);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&empty, 0, 0, file_data, 0), 0);
}

static void test_format_1_chunks_are_checked_by_their_own_sha256(void)
{
    struct pgb_file_entry e;
    struct pgb_stored_chunk chunks[CHUNKS];
    unchained_entry(&e, chunks);
    const size_t order[CHUNKS] = {2, 0, 1};
    for (size_t k = 0; k < CHUNKS; k++)
        CU_ASSERT_EQUAL(chunk_passes(&e, order[k], NULL), 1);
    uint8_t *copy = malloc(MIB);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    for (size_t i = 0; i < CHUNKS; i++) {
        memcpy(copy, file_data + start_of(i), chunk_sizes[i]);
        copy[chunk_sizes[i] / 3] ^= 0x04;
        CU_ASSERT_EQUAL(chunk_passes(&e, i, copy), 0);
        CU_ASSERT_EQUAL(pgb_chunk_matches(&e, i, start_of(i), file_data + start_of(i), chunk_sizes[i] - 1), 0);
    }
    free(copy);
    /* A wrong chunk SHA-256 fails that chunk only: format 1 has no chain. */
    chunks[1].ref.sha256[0] ^= 0xff;
    CU_ASSERT_EQUAL(chunk_passes(&e, 0, NULL), 1);
    CU_ASSERT_EQUAL(chunk_passes(&e, 1, NULL), 0);
    CU_ASSERT_EQUAL(chunk_passes(&e, 2, NULL), 1);
    /* Format 1 chunks need not end on a block: sizes came from the old chunker. */
    struct pgb_stored_chunk odd[2] = {{.ref.plain_size = 1001}, {.ref.plain_size = 999}};
    struct pgb_file_entry old = {.path = "old", .size = 2000, .chunks = odd, .chunk_count = 2};
    evp_sha256(file_data, 1001, odd[0].ref.sha256);
    evp_sha256(file_data + 1001, 999, odd[1].ref.sha256);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&old, 1, 1001, file_data + 1001, 999), 1);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&old, 0, 0, file_data, 1001), 1);
    CU_ASSERT_EQUAL(pgb_chunk_matches(&old, 0, 0, file_data + 1, 1001), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"chunk_offsets_add_up_plain_sizes", test_chunk_offsets_add_up_plain_sizes},
        {"every_chunk_passes_in_any_order", test_every_chunk_passes_in_any_order},
        {"flipped_byte_fails_its_chunk_only", test_flipped_byte_fails_its_chunk_only},
        {"wrong_size_fails", test_wrong_size_fails},
        {"wrong_link_fails_the_chunks_that_use_it", test_wrong_link_fails_the_chunks_that_use_it},
        {"wrong_offset_or_index_fails", test_wrong_offset_or_index_fails},
        {"single_chunk_file_is_checked_against_its_sha256", test_single_chunk_file_is_checked_against_its_sha256},
        {"format_1_chunks_are_checked_by_their_own_sha256", test_format_1_chunks_are_checked_by_their_own_sha256},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"chunk_check", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
