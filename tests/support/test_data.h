/*
 * Reproducible test data: the same seed gives the same bytes on every run
 * and machine, so a failing case can be run again as it was.
 */
#ifndef PGB_TEST_DATA_H
#define PGB_TEST_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/* The next number of a xorshift64 sequence (state must not be 0). */
static inline uint64_t test_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Bytes that do not compress. */
static inline void test_fill_random(uint8_t *out, size_t size, uint64_t seed)
{
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(test_xorshift(&seed) >> 24);
}

/* Lines of numbers and words: text that compresses as logs and dumps do. */
static inline void test_fill_text(uint8_t *out, size_t size, uint64_t seed)
{
    static const char *const words[] = {
        "backup", "restore", "relation", "tuple", "vacuum", "checkpoint", "segment", "timeline",
        "index",  "page",    "heap",     "toast", "lsn",    "wal",        "archive", "replica"};
    size_t used = 0;
    while (used < size) {
        char line[128];
        uint64_t r = test_xorshift(&seed);
        int n = snprintf(line, sizeof(line), "%llu %s %s %s\n", (unsigned long long)(r % 100000),
                         words[r >> 20 & 15], words[r >> 30 & 15], words[r >> 40 & 15]);
        size_t take = (size_t)n < size - used ? (size_t)n : size - used;
        memcpy(out + used, line, take);
        used += take;
    }
}

/* OpenSSL's one-shot SHA-256: the reference the code under test is held to. Returns 1 on success. */
static inline int test_sha256(const uint8_t *bytes, size_t size, uint8_t out[32])
{
    unsigned int length = 0;
    return EVP_Digest(bytes, size, out, &length, EVP_sha256(), NULL) == 1 && length == 32;
}

#endif
