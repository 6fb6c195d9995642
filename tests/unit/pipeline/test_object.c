/*
 * Stored objects end to end: header + SHA-256 + compression + encryption on a
 * real storage, for every codec and cipher, and damage of any kind detected
 * with an error naming the object, never wrong data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/rand.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/compress.h"
#include "pipeline/object.h"
#include "pipeline/x25519.h"
#include "test_main.h"

static pgb_ctx *ctx;
static pgb_storage *storage;
static char root[64];
static struct pgb_keyset plain, sealed, writer_only;

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-object-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) || pgb_storage_open(&storage, ctx, root, NULL))
        return 1;
    sealed = (struct pgb_keyset){.encrypted = 1, .has_private = 1, .has_writer = 1};
    if (pgb_x25519_generate(ctx, sealed.repository_public, sealed.repository_private) != PGB_OK)
        return 1;
    RAND_bytes(sealed.writer, 32);
    writer_only = sealed;
    writer_only.has_private = 0;
    memset(writer_only.repository_private, 0, 32);
    return 0;
}

static int teardown(void)
{
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    return system(command) != 0;
}

static uint8_t *random_bytes(size_t size)
{
    uint8_t *data = malloc(size ? size : 1);
    RAND_bytes(data, (int)size);
    return data;
}

/* Write data as key, read it back whole; returns the pgb_object_get status. */
static int round_trip(const char *key, const struct pgb_keyset *keys, int codec, int seal, const uint8_t *data,
                      size_t size, int *same)
{
    struct pgb_object_spec spec = {.codec = codec, .level = codec == PGB_CODEC_NONE ? 0 : 1, .seal = seal};
    struct pgb_object_info info;
    CU_ASSERT_EQUAL_FATAL(pgb_object_put(storage, key, keys, &spec, data, size, &info), PGB_OK);
    CU_ASSERT_EQUAL(info.plain_size, size);
    void *back = NULL;
    size_t back_size = 0;
    int rc = pgb_object_get(storage, key, keys, &back, &back_size);
    *same = rc == PGB_OK && back_size == size && memcmp(back, data, size) == 0;
    free(back);
    return rc;
}

static void test_every_codec_and_cipher_round_trips(void)
{
    const size_t sizes[] = {0, 1, 65535, 65536, 65537, 10u << 20};
    const int codecs[] = {PGB_CODEC_NONE, PGB_CODEC_ZSTD, PGB_CODEC_LZ4, PGB_CODEC_GZIP};
    struct {
        const struct pgb_keyset *keys;
        int seal;
    } ciphers[] = {{&plain, 0}, {&sealed, PGB_SEAL_REPOSITORY}, {&sealed, PGB_SEAL_WRITER}};
    for (size_t s = 0; s < 6; s++) {
        uint8_t *data = random_bytes(sizes[s]);
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 3; k++) {
                /* 10 MiB through every combination would be slow under ASan: zstd and none suffice. */
                if (sizes[s] > (1u << 20) && codecs[c] != PGB_CODEC_ZSTD && codecs[c] != PGB_CODEC_NONE)
                    continue;
                int same = 0;
                CU_ASSERT_EQUAL(round_trip("rt/object", ciphers[k].keys, codecs[c], ciphers[k].seal, data,
                                           sizes[s], &same), PGB_OK);
                if (!same)
                    fprintf(stderr, "round trip differs: size %zu codec %d cipher %d\n", sizes[s], codecs[c], k);
                CU_ASSERT(same);
            }
        free(data);
    }
}

static void test_writer_key_reads_its_own_objects_but_not_content(void)
{
    uint8_t data[100];
    RAND_bytes(data, sizeof(data));
    int same = 0;
    CU_ASSERT_EQUAL(round_trip("w/record", &writer_only, PGB_CODEC_ZSTD, PGB_SEAL_WRITER, data, sizeof(data), &same),
                    PGB_OK);
    CU_ASSERT(same);
    /* Content sealed for the repository key: written fine, unreadable with the writer key alone. */
    struct pgb_object_spec spec = {.codec = PGB_CODEC_ZSTD, .level = 3, .seal = PGB_SEAL_REPOSITORY};
    CU_ASSERT_EQUAL(pgb_object_put(storage, "w/content", &writer_only, &spec, data, sizeof(data), NULL), PGB_OK);
    void *back = NULL;
    size_t size;
    CU_ASSERT_EQUAL(pgb_object_get(storage, "w/content", &writer_only, &back, &size), PGB_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "w/content"));
    CU_ASSERT_EQUAL(pgb_object_get(storage, "w/content", &sealed, &back, &size), PGB_OK);
    CU_ASSERT(size == sizeof(data) && memcmp(back, data, size) == 0);
    free(back);
}

static void test_plain_object_in_encrypted_repository_is_refused(void)
{
    struct pgb_object_spec spec = {.codec = PGB_CODEC_NONE, .level = 0};
    CU_ASSERT_EQUAL(pgb_object_put(storage, "planted/record", &plain, &spec, "{\"id\":\"x\"}", 10, NULL), PGB_OK);
    void *back = NULL;
    size_t size;
    CU_ASSERT_EQUAL(pgb_object_get(storage, "planted/record", &sealed, &back, &size), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "planted/record"));
}

static uint8_t *stored_bytes(const char *key, size_t *size)
{
    void *data = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(storage, key, &data, size), PGB_OK);
    return data;
}

/* Reading the damaged object must fail; returns 1 when it did, naming the object. */
static int damage_detected(const struct pgb_keyset *keys, const uint8_t *original, size_t original_size)
{
    void *back = NULL;
    size_t size = 0;
    int rc = pgb_object_get(storage, "damaged/object", keys, &back, &size);
    if (rc == PGB_OK) {
        int same = size == original_size && memcmp(back, original, size) == 0;
        free(back);
        fprintf(stderr, "damage not detected (%s data)\n", same ? "same" : "WRONG");
        return 0;
    }
    if (strstr(pgb_ctx_errmsg(ctx), "damaged/object") == NULL) {
        fprintf(stderr, "damage reported without naming the object: %s\n", pgb_ctx_errmsg(ctx));
        return 0;
    }
    return 1;
}

static void check_every_damage(const struct pgb_keyset *keys, int codec, int seal)
{
    size_t plain_size = 200000;
    uint8_t *data = random_bytes(plain_size);
    memset(data, 'a', plain_size / 2); /* half compressible */
    struct pgb_object_spec spec = {.codec = codec, .level = codec == PGB_CODEC_NONE ? 0 : 1, .seal = seal};
    int rc = pgb_object_put(storage, "damaged/object", keys, &spec, data, plain_size, NULL);
    if (rc != PGB_OK)
        fprintf(stderr, "put: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    size_t stored_size;
    uint8_t *stored = stored_bytes("damaged/object", &stored_size);
    int missed = 0;
    for (size_t pos = 0; pos < stored_size; pos += pos < 100 ? 1 : 997) {
        stored[pos] ^= 0x01;
        pgb_storage_put(storage, "damaged/object", stored, stored_size, 0);
        missed += !damage_detected(keys, data, plain_size);
        stored[pos] ^= 0x01;
    }
    size_t cuts[] = {0, 3, 8, stored_size / 2, stored_size - 1};
    for (size_t i = 0; i < 5; i++) {
        pgb_storage_put(storage, "damaged/object", stored, cuts[i], 0);
        missed += !damage_detected(keys, data, plain_size);
    }
    uint8_t *longer = malloc(stored_size + 1);
    memcpy(longer, stored, stored_size);
    longer[stored_size] = 0;
    pgb_storage_put(storage, "damaged/object", longer, stored_size + 1, 0);
    missed += !damage_detected(keys, data, plain_size);
    CU_ASSERT_EQUAL(missed, 0);
    free(longer);
    free(stored);
    free(data);
}

static void test_flipped_truncated_or_appended_bytes_are_detected(void)
{
    check_every_damage(&sealed, PGB_CODEC_ZSTD, PGB_SEAL_REPOSITORY);
    check_every_damage(&sealed, PGB_CODEC_NONE, PGB_SEAL_WRITER);
    /* Without encryption the codec frame and the SHA-256 record still catch damage. */
    check_every_damage(&plain, PGB_CODEC_ZSTD, 0);
    check_every_damage(&plain, PGB_CODEC_GZIP, 0);
    check_every_damage(&plain, PGB_CODEC_LZ4, 0);
}

static void test_expected_checksum_is_checked_at_the_end(void)
{
    struct pgb_object_spec spec = {.codec = PGB_CODEC_NONE};
    struct pgb_object_info info;
    CU_ASSERT_EQUAL_FATAL(pgb_object_put(storage, "sum/object", &plain, &spec, "hello", 5, &info), PGB_OK);
    pgb_object_reader *r;
    uint8_t wrong[32];
    memcpy(wrong, info.sha256, 32);
    wrong[0] ^= 1;
    CU_ASSERT_EQUAL_FATAL(pgb_object_reader_open(&r, storage, "sum/object", &plain, wrong), PGB_OK);
    char buffer[16];
    size_t got = 0, total = 0;
    int rc;
    while ((rc = pgb_object_reader_read(r, buffer, sizeof(buffer), &got)) == PGB_OK && got)
        total += got;
    pgb_object_reader_close(r);
    CU_ASSERT_EQUAL(rc, PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "sum/object"));
}

static void test_unknown_header_is_refused_with_reason(void)
{
    CU_ASSERT_EQUAL(pgb_storage_put(storage, "foreign/object", "not an object at all", 20, 0), PGB_OK);
    void *back;
    size_t size;
    CU_ASSERT_EQUAL(pgb_object_get(storage, "foreign/object", &plain, &back, &size), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "foreign/object"));
    uint8_t future[8] = {'P', 'G', 'B', 'O', 9, 0, 0, 0};
    CU_ASSERT_EQUAL(pgb_storage_put(storage, "future/object", future, sizeof(future), 0), PGB_OK);
    CU_ASSERT_EQUAL(pgb_object_get(storage, "future/object", &plain, &back, &size), PGB_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "version"));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"every_codec_and_cipher_round_trips", test_every_codec_and_cipher_round_trips},
        {"writer_key_reads_its_own_objects_but_not_content", test_writer_key_reads_its_own_objects_but_not_content},
        {"plain_object_in_encrypted_repository_is_refused", test_plain_object_in_encrypted_repository_is_refused},
        {"flipped_truncated_or_appended_bytes_are_detected", test_flipped_truncated_or_appended_bytes_are_detected},
        {"expected_checksum_is_checked_at_the_end", test_expected_checksum_is_checked_at_the_end},
        {"unknown_header_is_refused_with_reason", test_unknown_header_is_refused_with_reason},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"object", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
