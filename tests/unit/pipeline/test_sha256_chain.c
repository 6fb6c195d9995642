/*
 * The SHA-256 chain: however a file's bytes are cut into pieces, and even when
 * each chunk is hashed on its own from the link before it, the result is
 * exactly OpenSSL's SHA-256 of the whole file; links exist only on 64-byte
 * boundaries; and a changed byte changes its chunk's link and every later
 * one, never an earlier one (what lets chunks be checked one by one).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "pipeline/sha256_chain.h"
#include "test_data.h"
#include "test_main.h"

#define MIB ((size_t)1024 * 1024)
#define BIG_SIZE (3 * MIB + 100)
#define MAX_CHUNKS 8

static uint8_t *data; /* BIG_SIZE random bytes; every size tested is a prefix */

static const size_t sizes[] = {0, 1, 63, 64, 65, MIB, BIG_SIZE};
#define SIZE_COUNT (sizeof(sizes) / sizeof(sizes[0]))

static int setup(void)
{
    data = malloc(BIG_SIZE);
    if (!data)
        return 1;
    uint64_t seed = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < BIG_SIZE; i++)
        data[i] = (uint8_t)(test_xorshift(&seed) >> 24);
    return 0;
}

static int teardown(void)
{
    free(data);
    return 0;
}

/* The reference: OpenSSL's one-shot SHA-256, which knows nothing of chains. */
static void evp_sha256(const uint8_t *bytes, size_t size, uint8_t out[32])
{
    CU_ASSERT_FATAL(test_sha256(bytes, size, out));
}

static void test_one_piece_is_openssl_sha256(void)
{
    for (size_t s = 0; s < SIZE_COUNT; s++) {
        uint8_t expected[32], got[32];
        evp_sha256(data, sizes[s], expected);
        struct pgb_sha256_chain chain;
        pgb_sha256_chain_start(&chain);
        pgb_sha256_chain_update(&chain, data, sizes[s]);
        pgb_sha256_chain_final(&chain, got);
        CU_ASSERT(memcmp(got, expected, 32) == 0);
        if (memcmp(got, expected, 32) != 0)
            fprintf(stderr, "one piece of %zu bytes: not the SHA-256\n", sizes[s]);
    }
}

static void test_random_pieces_are_openssl_sha256(void)
{
    uint64_t seed = 7;
    for (size_t s = 0; s < SIZE_COUNT; s++) {
        uint8_t expected[32];
        evp_sha256(data, sizes[s], expected);
        /* Several cuttings per size: tiny pieces, empty ones, pieces across blocks and MiB boundaries. */
        for (int round = 0; round < 4; round++) {
            size_t largest = round == 0 ? 3 : round == 1 ? 100 : round == 2 ? 70000 : 2 * MIB;
            struct pgb_sha256_chain chain;
            pgb_sha256_chain_start(&chain);
            for (size_t done = 0; done < sizes[s];) {
                size_t piece = (size_t)(test_xorshift(&seed) % (largest + 1));
                if (piece > sizes[s] - done)
                    piece = sizes[s] - done;
                pgb_sha256_chain_update(&chain, data + done, piece);
                done += piece;
            }
            uint8_t got[32];
            pgb_sha256_chain_final(&chain, got);
            CU_ASSERT(memcmp(got, expected, 32) == 0);
            if (memcmp(got, expected, 32) != 0)
                fprintf(stderr, "%zu bytes in pieces of up to %zu: not the SHA-256\n", sizes[s], largest);
        }
    }
}

/*
 * Hash data[0..size) in 1 MiB chunks as a backup does, recording the link
 * after every chunk but the last; returns the chunk count. The digest is the
 * SHA-256 of the whole.
 */
static size_t chain_links(const uint8_t *bytes, size_t size, uint8_t links[MAX_CHUNKS][32], uint8_t digest[32])
{
    size_t count = size == 0 ? 1 : (size + MIB - 1) / MIB;
    CU_ASSERT_FATAL(count <= MAX_CHUNKS);
    struct pgb_sha256_chain chain;
    pgb_sha256_chain_start(&chain);
    for (size_t k = 0; k < count; k++) {
        size_t begin = k * MIB, end = k + 1 == count ? size : begin + MIB;
        pgb_sha256_chain_update(&chain, bytes + begin, end - begin);
        if (k + 1 < count)
            CU_ASSERT_EQUAL(pgb_sha256_chain_link(&chain, links[k]), 0);
    }
    pgb_sha256_chain_final(&chain, digest);
    return count;
}

static void test_resume_from_links_at_each_mib_is_openssl_sha256(void)
{
    for (size_t s = 0; s < SIZE_COUNT; s++) {
        size_t size = sizes[s];
        uint8_t expected[32], digest[32], links[MAX_CHUNKS][32];
        evp_sha256(data, size, expected);
        size_t count = chain_links(data, size, links, digest);
        CU_ASSERT(memcmp(digest, expected, 32) == 0);
        /* Every chunk on its own, last first: each starts from the link before it and reaches its own. */
        for (size_t k = count; k-- > 0;) {
            size_t begin = k * MIB, end = k + 1 == count ? size : begin + MIB;
            struct pgb_sha256_chain chain;
            if (k == 0)
                pgb_sha256_chain_start(&chain);
            else
                CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_resume(&chain, links[k - 1], begin), 0);
            pgb_sha256_chain_update(&chain, data + begin, end - begin);
            uint8_t got[32];
            if (k + 1 < count) {
                CU_ASSERT_EQUAL(pgb_sha256_chain_link(&chain, got), 0);
                CU_ASSERT(memcmp(got, links[k], 32) == 0);
            } else {
                /* The last chunk's final is the whole file's SHA-256: the length in the padding is the file's. */
                pgb_sha256_chain_final(&chain, got);
                CU_ASSERT(memcmp(got, expected, 32) == 0);
                if (memcmp(got, expected, 32) != 0)
                    fprintf(stderr, "%zu bytes, last chunk resumed at %zu: not the SHA-256\n", size, begin);
            }
        }
    }
}

static void test_resume_then_hash_the_rest_in_pieces(void)
{
    /* Resumed at 1 MiB, the remaining 2 MiB + 100 bytes in odd pieces still give the file's SHA-256. */
    uint8_t expected[32], digest[32], links[MAX_CHUNKS][32];
    evp_sha256(data, BIG_SIZE, expected);
    chain_links(data, BIG_SIZE, links, digest);
    struct pgb_sha256_chain chain;
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_resume(&chain, links[0], MIB), 0);
    for (size_t done = MIB; done < BIG_SIZE;) {
        size_t piece = BIG_SIZE - done < 12345 ? BIG_SIZE - done : 12345;
        pgb_sha256_chain_update(&chain, data + done, piece);
        done += piece;
    }
    uint8_t got[32];
    pgb_sha256_chain_final(&chain, got);
    CU_ASSERT(memcmp(got, expected, 32) == 0);
}

static void test_link_at_offset_zero_resumes_like_start(void)
{
    struct pgb_sha256_chain chain;
    pgb_sha256_chain_start(&chain);
    uint8_t link[32], expected[32], got[32];
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_link(&chain, link), 0);
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_resume(&chain, link, 0), 0);
    pgb_sha256_chain_update(&chain, data, 1000);
    pgb_sha256_chain_final(&chain, got);
    evp_sha256(data, 1000, expected);
    CU_ASSERT(memcmp(got, expected, 32) == 0);
}

static void test_link_at_unaligned_offset_fails(void)
{
    const size_t unaligned[] = {1, 63, 65, 100, 127, MIB + 1, MIB - 1};
    for (size_t i = 0; i < sizeof(unaligned) / sizeof(unaligned[0]); i++) {
        struct pgb_sha256_chain chain;
        pgb_sha256_chain_start(&chain);
        pgb_sha256_chain_update(&chain, data, unaligned[i]);
        uint8_t link[32];
        CU_ASSERT_EQUAL(pgb_sha256_chain_link(&chain, link), -1);
    }
    /* Aligned offsets reached in unaligned pieces have a link, the same as in one piece. */
    const size_t aligned[] = {64, 128, 4096, MIB};
    for (size_t i = 0; i < sizeof(aligned) / sizeof(aligned[0]); i++) {
        struct pgb_sha256_chain whole, pieces;
        pgb_sha256_chain_start(&whole);
        pgb_sha256_chain_update(&whole, data, aligned[i]);
        pgb_sha256_chain_start(&pieces);
        pgb_sha256_chain_update(&pieces, data, 10);
        pgb_sha256_chain_update(&pieces, data + 10, aligned[i] - 10);
        uint8_t a[32], b[32];
        CU_ASSERT_EQUAL(pgb_sha256_chain_link(&whole, a), 0);
        CU_ASSERT_EQUAL(pgb_sha256_chain_link(&pieces, b), 0);
        CU_ASSERT(memcmp(a, b, 32) == 0);
    }
    /* A resumed chain is aligned only again after whole blocks. */
    uint8_t link[32], again[32];
    struct pgb_sha256_chain chain;
    pgb_sha256_chain_start(&chain);
    pgb_sha256_chain_update(&chain, data, 64);
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_link(&chain, link), 0);
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_resume(&chain, link, 64), 0);
    pgb_sha256_chain_update(&chain, data + 64, 30);
    CU_ASSERT_EQUAL(pgb_sha256_chain_link(&chain, again), -1);
    pgb_sha256_chain_update(&chain, data + 94, 34);
    CU_ASSERT_EQUAL(pgb_sha256_chain_link(&chain, again), 0);
}

static void test_resume_at_unaligned_offset_fails(void)
{
    uint8_t link[32] = {0};
    struct pgb_sha256_chain chain;
    pgb_sha256_chain_start(&chain);
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_link(&chain, link), 0);
    const uint64_t unaligned[] = {1, 32, 63, 65, 100, MIB + 1, ((uint64_t)1 << 32) + 8};
    for (size_t i = 0; i < sizeof(unaligned) / sizeof(unaligned[0]); i++)
        CU_ASSERT_EQUAL(pgb_sha256_chain_resume(&chain, link, unaligned[i]), -1);
    const uint64_t aligned[] = {0, 64, MIB, (uint64_t)1 << 32, (uint64_t)1 << 40};
    for (size_t i = 0; i < sizeof(aligned) / sizeof(aligned[0]); i++)
        CU_ASSERT_EQUAL(pgb_sha256_chain_resume(&chain, link, aligned[i]), 0);
}

static void test_changed_byte_changes_its_link_and_later_ones_only(void)
{
    uint8_t links[MAX_CHUNKS][32], digest[32];
    size_t count = chain_links(data, BIG_SIZE, links, digest);
    CU_ASSERT_EQUAL_FATAL(count, 4);
    uint8_t *changed = malloc(BIG_SIZE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(changed);
    /* One byte in each chunk in turn, at its first, a middle and its last byte. */
    for (size_t k = 0; k < count; k++) {
        size_t begin = k * MIB, end = k + 1 == count ? BIG_SIZE : begin + MIB;
        size_t where[] = {begin, begin + (end - begin) / 2 + 3, end - 1};
        for (size_t w = 0; w < 3; w++) {
            memcpy(changed, data, BIG_SIZE);
            changed[where[w]] ^= 0x01;
            uint8_t changed_links[MAX_CHUNKS][32], changed_digest[32];
            CU_ASSERT_EQUAL(chain_links(changed, BIG_SIZE, changed_links, changed_digest), count);
            for (size_t j = 0; j + 1 < count; j++) {
                int same = memcmp(changed_links[j], links[j], 32) == 0;
                CU_ASSERT_EQUAL(same, j < k);
                if (same != (j < k))
                    fprintf(stderr, "byte %zu changed: link %zu %s\n", where[w], j, same ? "same" : "changed");
            }
            CU_ASSERT(memcmp(changed_digest, digest, 32) != 0);
            /* Checked on its own from the unchanged link before it, the chunk no longer reaches its link. */
            struct pgb_sha256_chain chain;
            if (k == 0)
                pgb_sha256_chain_start(&chain);
            else
                CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_resume(&chain, links[k - 1], begin), 0);
            pgb_sha256_chain_update(&chain, changed + begin, end - begin);
            uint8_t got[32];
            if (k + 1 < count) {
                CU_ASSERT_EQUAL(pgb_sha256_chain_link(&chain, got), 0);
                CU_ASSERT(memcmp(got, links[k], 32) != 0);
            } else {
                pgb_sha256_chain_final(&chain, got);
                CU_ASSERT(memcmp(got, digest, 32) != 0);
            }
        }
    }
    free(changed);
}

/*
 * Past 512 MiB the bit count no longer fits in 32 bits: a relation segment of
 * 1 GiB has chunks there. A resume at 512 MiB + 1 MiB must carry the high word,
 * or the padding of the last chunk holds the wrong length.
 */
static void test_resume_beyond_four_gigabits_is_openssl_sha256(void)
{
    const size_t prefix = 513 * MIB, tail = 1000;
    uint8_t *zeros = calloc(1, MIB);
    CU_ASSERT_PTR_NOT_NULL_FATAL(zeros);
    struct pgb_sha256_chain chain;
    pgb_sha256_chain_start(&chain);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    CU_ASSERT_FATAL(md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1);
    for (size_t done = 0; done < prefix; done += MIB) {
        pgb_sha256_chain_update(&chain, zeros, MIB);
        CU_ASSERT_FATAL(EVP_DigestUpdate(md, zeros, MIB) == 1);
    }
    uint8_t link[32], expected[32], got[32];
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_link(&chain, link), 0);
    CU_ASSERT_FATAL(EVP_DigestUpdate(md, data, tail) == 1);
    unsigned int length = 0;
    CU_ASSERT_FATAL(EVP_DigestFinal_ex(md, expected, &length) == 1);
    EVP_MD_CTX_free(md);

    struct pgb_sha256_chain resumed;
    CU_ASSERT_EQUAL_FATAL(pgb_sha256_chain_resume(&resumed, link, prefix), 0);
    /* The offset is known after resuming: a link on the next block boundary exists. */
    pgb_sha256_chain_update(&resumed, data, 64);
    uint8_t next[32];
    CU_ASSERT_EQUAL(pgb_sha256_chain_link(&resumed, next), 0);
    pgb_sha256_chain_update(&resumed, data + 64, tail - 64);
    pgb_sha256_chain_final(&resumed, got);
    CU_ASSERT(memcmp(got, expected, 32) == 0);
    free(zeros);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"one_piece_is_openssl_sha256", test_one_piece_is_openssl_sha256},
        {"random_pieces_are_openssl_sha256", test_random_pieces_are_openssl_sha256},
        {"resume_from_links_at_each_mib_is_openssl_sha256", test_resume_from_links_at_each_mib_is_openssl_sha256},
        {"resume_then_hash_the_rest_in_pieces", test_resume_then_hash_the_rest_in_pieces},
        {"link_at_offset_zero_resumes_like_start", test_link_at_offset_zero_resumes_like_start},
        {"link_at_unaligned_offset_fails", test_link_at_unaligned_offset_fails},
        {"resume_at_unaligned_offset_fails", test_resume_at_unaligned_offset_fails},
        {"changed_byte_changes_its_link_and_later_ones_only", test_changed_byte_changes_its_link_and_later_ones_only},
        {"resume_beyond_four_gigabits_is_openssl_sha256", test_resume_beyond_four_gigabits_is_openssl_sha256},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"sha256_chain", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
