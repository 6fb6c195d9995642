/*
 * The encrypted body of objects (doc/repository-format.md, "Body"): what goes
 * in comes out in any piece sizes; the bytes on disk are the chunks the spec
 * describes; and no damage (a flipped byte anywhere, truncation, appended
 * bytes, moved chunks, another header or key) is ever given out as data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <openssl/evp.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/crypt_stream.h"
#include "pipeline/key_wrap.h"
#include "pipeline/object_header.h"
#include "pipeline/stream.h"
#include "test_data.h"
#include "test_main.h"

#define MIB ((size_t)1024 * 1024)
#define CHUNK 65536
#define SEALED_CHUNK (CHUNK + 16)
#define NAME "backup/20261125T101500F/base.tar"

static pgb_ctx *ctx;
static uint8_t *random_data; /* 10 MiB */
static uint8_t data_key[32], other_key[32];
static uint8_t repository_public[32], repository_private[32];
/* A real cipher 1 header: its bytes are the additional data of every chunk. */
static uint8_t header[PGB_OBJECT_HEADER_MAX_SIZE];
static size_t header_size;

/* Odd piece sizes, so that writes and reads straddle chunk boundaries every way. */
static const size_t write_pieces[] = {1, 7, 4093, 65537, 13, 100003, 65536, 3, 65535};
static const size_t read_pieces[] = {5, 65536, 1, 9001, 131071, 2, 65537};

struct bytes {
    uint8_t *data;
    size_t size;
};

static int setup(void)
{
    struct pgb_object_header h;
    random_data = malloc(10 * MIB);
    if (!random_data || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    test_fill_random(random_data, 10 * MIB, 0x9e3779b97f4a7c15ull);
    test_fill_random(data_key, sizeof(data_key), 1);
    test_fill_random(other_key, sizeof(other_key), 2);
    pgb_object_header_init(&h, 1 /* zstd */, PGB_CIPHER_REPOSITORY);
    return pgb_x25519_generate(ctx, repository_public, repository_private) ||
           pgb_data_key_wrap_for_repository(ctx, &h, data_key, repository_public) ||
           pgb_object_header_encode(ctx, &h, header, &header_size);
}

static int teardown(void)
{
    free(random_data);
    pgb_ctx_free(ctx);
    return 0;
}

/* Encrypt size bytes in odd pieces; the body is returned (free its data). */
static struct bytes encrypt_body(const uint8_t *data, size_t size, const uint8_t *key)
{
    pgb_sink *memory = NULL, *encrypt = NULL;
    struct bytes body = {NULL, 0};
    CU_ASSERT_FATAL(pgb_memory_sink_new(ctx, &memory) == PGB_OK);
    CU_ASSERT_FATAL(pgb_encrypt_sink_new(ctx, key, header, header_size, memory, &encrypt) ==
                    PGB_OK);
    for (size_t done = 0, i = 0; done < size; i++) {
        size_t n = write_pieces[i % (sizeof(write_pieces) / sizeof(write_pieces[0]))];
        n = n < size - done ? n : size - done;
        CU_ASSERT_FATAL(pgb_sink_write(encrypt, data + done, n) == PGB_OK);
        done += n;
    }
    CU_ASSERT_FATAL(pgb_sink_finish(encrypt) == PGB_OK);
    const uint8_t *written = pgb_memory_sink_data(memory, &body.size);
    body.data = malloc(body.size ? body.size : 1);
    CU_ASSERT_FATAL(body.data != NULL);
    if (body.size)
        memcpy(body.data, written, body.size);
    pgb_sink_destroy(encrypt); /* frees memory too */
    return body;
}

/* Read all of source in odd pieces into *out (free its data); returns the status. */
static int read_all(pgb_source *source, struct bytes *out)
{
    size_t capacity = 1 << 16;
    int rc = PGB_OK;
    out->data = malloc(capacity);
    out->size = 0;
    for (size_t i = 0;; i++) {
        size_t want = read_pieces[i % (sizeof(read_pieces) / sizeof(read_pieces[0]))], got = 0;
        while (out->size + want > capacity)
            out->data = realloc(out->data, capacity *= 2);
        CU_ASSERT_FATAL(out->data != NULL);
        rc = pgb_source_read(source, out->data + out->size, want, &got);
        if (rc != PGB_OK || got == 0)
            break;
        out->size += got;
    }
    if (rc == PGB_OK) {
        /* The end stays the end. */
        size_t got = 1;
        uint8_t byte;
        CU_ASSERT_EQUAL(pgb_source_read(source, &byte, 1, &got), PGB_OK);
        CU_ASSERT_EQUAL(got, 0);
    }
    return rc;
}

/* Decrypt body under key and aad; what was given out goes to *out (free its data). */
static int decrypt_body(const uint8_t *body, size_t size, const uint8_t *key, const uint8_t *aad,
                        size_t aad_size, struct bytes *out)
{
    pgb_source *memory = NULL, *decrypt = NULL;
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, body, size, &memory) == PGB_OK);
    CU_ASSERT_FATAL(pgb_decrypt_source_new(ctx, key, aad, aad_size, NAME, memory, &decrypt) ==
                    PGB_OK);
    int rc = read_all(decrypt, out);
    pgb_source_destroy(decrypt); /* frees memory too */
    return rc;
}

/* Read a whole stored object (header || body) as a reader would, with the private key. */
static int read_object(const uint8_t *object, size_t size, struct bytes *out)
{
    pgb_source *memory = NULL, *decrypt = NULL;
    struct pgb_object_header h;
    uint8_t raw[PGB_OBJECT_HEADER_MAX_SIZE], key[32];
    size_t raw_size = 0;
    out->data = NULL;
    out->size = 0;
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, object, size, &memory) == PGB_OK);
    int rc = pgb_object_header_read(ctx, NAME, memory, &h, raw, &raw_size);
    /* In an encrypted repository a plain object is refused (as pipeline/object.c does). */
    if (rc == PGB_OK && h.cipher != PGB_CIPHER_REPOSITORY)
        rc = PGB_ECORRUPT;
    if (rc == PGB_OK)
        rc = pgb_data_key_unwrap(ctx, NAME, &h, repository_private, repository_public, NULL, key);
    if (rc == PGB_OK)
        rc = pgb_decrypt_source_new(ctx, key, raw, raw_size, NAME, memory, &decrypt);
    if (rc == PGB_OK) {
        memory = NULL;
        rc = read_all(decrypt, out);
    }
    pgb_source_destroy(decrypt);
    pgb_source_destroy(memory);
    return rc;
}

/* What a failed read gave out must be a true prefix of the plaintext. */
static int is_prefix_of(const struct bytes *given, const uint8_t *plain, size_t plain_size)
{
    return given->size <= plain_size &&
           (given->size == 0 || memcmp(given->data, plain, given->size) == 0);
}

static void assert_round_trip(size_t size)
{
    struct bytes body = encrypt_body(random_data, size, data_key), plain = {NULL, 0};
    CU_ASSERT_EQUAL(body.size, pgb_crypt_body_size(size));
    CU_ASSERT_EQUAL(decrypt_body(body.data, body.size, data_key, header, header_size, &plain),
                    PGB_OK);
    CU_ASSERT_EQUAL(plain.size, size);
    CU_ASSERT(plain.size == size && (size == 0 || memcmp(plain.data, random_data, size) == 0));
    free(plain.data);
    free(body.data);
}

static void test_round_trip_keeps_every_size(void)
{
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 131072, 10 * MIB};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        assert_round_trip(sizes[i]);
}

/* Independent of the code under test: one chunk opened with raw EVP calls. */
static int spec_open_chunk(const uint8_t *sealed, size_t sealed_size, uint64_t index, int final,
                           uint8_t *plain)
{
    uint8_t nonce[12] = {0};
    for (int i = 0; i < 8; i++)
        nonce[i] = (uint8_t)(index >> (56 - 8 * i));
    nonce[11] = (uint8_t) final;
    int n = 0, len = (int)sealed_size - 16;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, data_key, nonce) == 1 &&
             EVP_DecryptUpdate(c, NULL, &n, header, (int)header_size) == 1 &&
             EVP_DecryptUpdate(c, plain, &n, sealed, len) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(sealed + len)) == 1 &&
             EVP_DecryptFinal_ex(c, plain + len, &n) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static void test_body_is_the_chunk_layout_of_the_spec(void)
{
    /* 65536 + 5 bytes: a full chunk 0, then a final chunk 1 of 5 bytes. */
    struct bytes body = encrypt_body(random_data, CHUNK + 5, data_key);
    uint8_t *plain = malloc(CHUNK);
    CU_ASSERT_FATAL(body.size == 2 * 16 + CHUNK + 5);
    CU_ASSERT(spec_open_chunk(body.data, SEALED_CHUNK, 0, 0, plain));
    CU_ASSERT(memcmp(plain, random_data, CHUNK) == 0);
    CU_ASSERT(spec_open_chunk(body.data + SEALED_CHUNK, 5 + 16, 1, 1, plain));
    CU_ASSERT(memcmp(plain, random_data + CHUNK, 5) == 0);
    /* The final flag is part of the nonce: chunk 0 is not final, chunk 1 is. */
    CU_ASSERT(!spec_open_chunk(body.data, SEALED_CHUNK, 0, 1, plain));
    CU_ASSERT(!spec_open_chunk(body.data + SEALED_CHUNK, 5 + 16, 1, 0, plain));
    free(body.data);

    /* An exact multiple of the chunk size ends with an empty final chunk. */
    body = encrypt_body(random_data, 2 * CHUNK, data_key);
    CU_ASSERT_FATAL(body.size == 2 * SEALED_CHUNK + 16);
    CU_ASSERT(spec_open_chunk(body.data + SEALED_CHUNK, SEALED_CHUNK, 1, 0, plain));
    CU_ASSERT(spec_open_chunk(body.data + 2 * SEALED_CHUNK, 16, 2, 1, plain));
    free(body.data);

    /* An empty stream is one empty final chunk. */
    body = encrypt_body(random_data, 0, data_key);
    CU_ASSERT_FATAL(body.size == 16);
    CU_ASSERT(spec_open_chunk(body.data, 16, 0, 1, plain));
    free(body.data);
    free(plain);
}

/* A sink that checks what the encrypt stage passes on: never more than one chunk at once. */
struct recording_sink {
    pgb_sink base;
    size_t writes, largest, total;
    int finished;
};

static int recording_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct recording_sink *r = (struct recording_sink *)sink;
    (void)data;
    r->writes++;
    r->total += size;
    r->largest = size > r->largest ? size : r->largest;
    return PGB_OK;
}

static int recording_finish(pgb_sink *sink)
{
    ((struct recording_sink *)sink)->finished++;
    return PGB_OK;
}

static void recording_destroy(pgb_sink *sink)
{
    (void)sink; /* on the test's stack */
}

static const struct pgb_sink_ops recording_ops = {recording_write, recording_finish,
                                                  recording_destroy};

static void test_encrypt_passes_on_one_chunk_at_a_time(void)
{
    struct recording_sink r = {{&recording_ops, NULL, NULL}, 0, 0, 0, 0};
    pgb_sink *encrypt = NULL;
    r.base.ctx = ctx;
    CU_ASSERT_FATAL(pgb_encrypt_sink_new(ctx, data_key, header, header_size, &r.base, &encrypt) ==
                    PGB_OK);
    /* One 10 MiB write must still leave as chunk-sized pieces. */
    CU_ASSERT_EQUAL(pgb_sink_write(encrypt, random_data, 10 * MIB), PGB_OK);
    CU_ASSERT_EQUAL(pgb_sink_finish(encrypt), PGB_OK);
    CU_ASSERT_EQUAL(r.largest, SEALED_CHUNK);
    CU_ASSERT_EQUAL(r.writes, 10 * MIB / CHUNK + 1);
    CU_ASSERT_EQUAL(r.total, pgb_crypt_body_size(10 * MIB));
    CU_ASSERT_EQUAL(r.finished, 1);
    /* Finished is finished. */
    CU_ASSERT_EQUAL(pgb_sink_write(encrypt, random_data, 1), PGB_EINVALID);
    pgb_sink_destroy(encrypt);
}

static void assert_flip_is_refused(const uint8_t *object, size_t size, size_t position,
                                   uint8_t mask, const uint8_t *plain, size_t plain_size)
{
    uint8_t *damaged = malloc(size);
    struct bytes given;
    memcpy(damaged, object, size);
    damaged[position] ^= mask;
    int rc = read_object(damaged, size, &given);
    /* Header bytes 4-7 turned into values this library does not know are refused as
     * such (spec "Header"); everything else is damage. */
    int unknown_value = position >= 4 && position < 8 && rc == PGB_EUNSUPPORTED;
    if (rc != PGB_ECORRUPT && !unknown_value)
        fprintf(stderr, "\nflip of byte %zu (mask %02x): %s: %s\n", position, mask,
                pgb_status_name(rc), pgb_ctx_errmsg(ctx));
    CU_ASSERT(rc == PGB_ECORRUPT || unknown_value);
    CU_ASSERT(is_prefix_of(&given, plain, plain_size));
    free(given.data);
    free(damaged);
}

static void test_every_flipped_byte_fails_and_gives_no_wrong_data(void)
{
    const size_t plain_size = 200 * 1024;
    struct bytes body = encrypt_body(random_data, plain_size, data_key), given;
    size_t size = header_size + body.size;
    uint8_t *object = malloc(size);
    memcpy(object, header, header_size);
    memcpy(object + header_size, body.data, body.size);
    CU_ASSERT_FATAL(read_object(object, size, &given) == PGB_OK);
    CU_ASSERT(given.size == plain_size && memcmp(given.data, random_data, plain_size) == 0);
    free(given.data);

    size_t tested = 0;
    for (size_t position = 0; position < size; position++) {
        int sample =
            position < header_size || position < 40 || position >= size - 40 || position % 997 == 0;
        if (!sample)
            continue;
        assert_flip_is_refused(object, size, position, 0xff, random_data, plain_size);
        assert_flip_is_refused(object, size, position, 0x01, random_data, plain_size);
        tested++;
    }
    CU_ASSERT(tested > 200 + header_size);
    free(object);
    free(body.data);
}

static void test_damaged_chunk_is_named_and_never_given_out(void)
{
    struct bytes body = encrypt_body(random_data, 200 * 1024, data_key), given;
    body.data[2 * SEALED_CHUNK + 100] ^= 0x20;
    CU_ASSERT_EQUAL(decrypt_body(body.data, body.size, data_key, header, header_size, &given),
                    PGB_ECORRUPT);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx),
                           "object " NAME " is damaged: chunk 2 fails authentication");
    /* Chunks 0 and 1 were proven and may have gone out; nothing of chunk 2. */
    CU_ASSERT(given.size <= 2 * CHUNK);
    CU_ASSERT(is_prefix_of(&given, random_data, 200 * 1024));
    free(given.data);
    free(body.data);
}

static void assert_body_refused(const uint8_t *body, size_t size, size_t plain_size)
{
    struct bytes given;
    CU_ASSERT_EQUAL(decrypt_body(body, size, data_key, header, header_size, &given), PGB_ECORRUPT);
    CU_ASSERT(is_prefix_of(&given, random_data, plain_size));
    free(given.data);
}

static void test_truncation_anywhere_fails(void)
{
    static const size_t plain_sizes[] = {200 * 1024, 2 * CHUNK, 0};
    uint64_t seed = 7;
    for (size_t s = 0; s < sizeof(plain_sizes) / sizeof(plain_sizes[0]); s++) {
        struct bytes body = encrypt_body(random_data, plain_sizes[s], data_key), given;
        /* Every chunk boundary, the empty body included. */
        for (size_t cut = 0; cut < body.size; cut += SEALED_CHUNK) {
            CU_ASSERT_EQUAL(decrypt_body(body.data, cut, data_key, header, header_size, &given),
                            PGB_ECORRUPT);
            CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), "object " NAME " is truncated") != NULL);
            CU_ASSERT(is_prefix_of(&given, random_data, plain_sizes[s]));
            free(given.data);
        }
        /* Random points, and the last byte alone. */
        assert_body_refused(body.data, body.size - 1, plain_sizes[s]);
        for (int i = 0; i < 40; i++)
            assert_body_refused(body.data, (size_t)(test_xorshift(&seed) % body.size), plain_sizes[s]);
        free(body.data);
    }
}

static void test_dropping_the_empty_final_chunk_is_truncation(void)
{
    struct bytes body = encrypt_body(random_data, 2 * CHUNK, data_key), given;
    CU_ASSERT_EQUAL(decrypt_body(body.data, body.size - 16, data_key, header, header_size, &given),
                    PGB_ECORRUPT);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "object " NAME " is truncated: it ends after "
                                                "chunk 1, which is not its final chunk");
    free(given.data);
    free(body.data);
}

static void test_appended_bytes_fail(void)
{
    static const size_t plain_sizes[] = {200 * 1024, 2 * CHUNK, 0, 1};
    for (size_t s = 0; s < sizeof(plain_sizes) / sizeof(plain_sizes[0]); s++) {
        struct bytes body = encrypt_body(random_data, plain_sizes[s], data_key);
        uint8_t *longer = malloc(body.size + SEALED_CHUNK);
        memcpy(longer, body.data, body.size);
        longer[body.size] = 0;
        assert_body_refused(longer, body.size + 1, plain_sizes[s]);
        /* A whole extra sealed chunk after the final one, too. */
        memcpy(longer + body.size, body.data, body.size < SEALED_CHUNK ? body.size : SEALED_CHUNK);
        assert_body_refused(longer,
                            body.size + (body.size < SEALED_CHUNK ? body.size : SEALED_CHUNK),
                            plain_sizes[s]);
        free(longer);
        free(body.data);
    }
}

static void test_moved_chunks_fail(void)
{
    struct bytes body = encrypt_body(random_data, 200 * 1024, data_key);
    uint8_t *moved = malloc(body.size);
    /* Swap chunks 0 and 1. */
    memcpy(moved, body.data, body.size);
    memcpy(moved, body.data + SEALED_CHUNK, SEALED_CHUNK);
    memcpy(moved + SEALED_CHUNK, body.data, SEALED_CHUNK);
    assert_body_refused(moved, body.size, 200 * 1024);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx),
                           "object " NAME " is damaged: chunk 0 fails authentication");
    /* Chunk 0 twice. */
    memcpy(moved, body.data, body.size);
    memcpy(moved + SEALED_CHUNK, body.data, SEALED_CHUNK);
    assert_body_refused(moved, body.size, 200 * 1024);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx),
                           "object " NAME " is damaged: chunk 1 fails authentication");
    /* Chunk 1 left out. */
    memcpy(moved, body.data, SEALED_CHUNK);
    memcpy(moved + SEALED_CHUNK, body.data + 2 * SEALED_CHUNK, body.size - 2 * SEALED_CHUNK);
    assert_body_refused(moved, body.size - SEALED_CHUNK, 200 * 1024);
    free(moved);
    free(body.data);
}

static void test_wrong_key_or_header_fails(void)
{
    struct bytes body = encrypt_body(random_data, 100000, data_key), given;
    CU_ASSERT_EQUAL(decrypt_body(body.data, body.size, other_key, header, header_size, &given),
                    PGB_ECORRUPT);
    CU_ASSERT_EQUAL(given.size, 0);
    free(given.data);
    /* The same body under another header (here: another codec byte). */
    uint8_t other_header[PGB_OBJECT_HEADER_MAX_SIZE];
    memcpy(other_header, header, header_size);
    other_header[5] = 2;
    CU_ASSERT_EQUAL(decrypt_body(body.data, body.size, data_key, other_header, header_size, &given),
                    PGB_ECORRUPT);
    CU_ASSERT_EQUAL(given.size, 0);
    free(given.data);
    free(body.data);
}

static void test_reads_after_a_failure_keep_failing(void)
{
    struct bytes body = encrypt_body(random_data, 1000, data_key);
    pgb_source *memory = NULL, *decrypt = NULL;
    uint8_t buffer[2000];
    size_t got = 0;
    body.data[10] ^= 1;
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, body.data, body.size, &memory) == PGB_OK);
    CU_ASSERT_FATAL(pgb_decrypt_source_new(ctx, data_key, header, header_size, NAME, memory,
                                           &decrypt) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_source_read(decrypt, buffer, sizeof(buffer), &got), PGB_ECORRUPT);
    CU_ASSERT_EQUAL(pgb_source_read(decrypt, buffer, sizeof(buffer), &got), PGB_ECORRUPT);
    CU_ASSERT_EQUAL(got, 0);
    pgb_source_destroy(decrypt);
    free(body.data);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"round_trip_keeps_every_size", test_round_trip_keeps_every_size},
        {"body_is_the_chunk_layout_of_the_spec", test_body_is_the_chunk_layout_of_the_spec},
        {"encrypt_passes_on_one_chunk_at_a_time", test_encrypt_passes_on_one_chunk_at_a_time},
        {"every_flipped_byte_fails_and_gives_no_wrong_data",
         test_every_flipped_byte_fails_and_gives_no_wrong_data},
        {"damaged_chunk_is_named_and_never_given_out",
         test_damaged_chunk_is_named_and_never_given_out},
        {"truncation_anywhere_fails", test_truncation_anywhere_fails},
        {"dropping_the_empty_final_chunk_is_truncation",
         test_dropping_the_empty_final_chunk_is_truncation},
        {"appended_bytes_fail", test_appended_bytes_fail},
        {"moved_chunks_fail", test_moved_chunks_fail},
        {"wrong_key_or_header_fails", test_wrong_key_or_header_fails},
        {"reads_after_a_failure_keep_failing", test_reads_after_a_failure_keep_failing},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"crypt_stream", setup, teardown, NULL, NULL, tests},
                             CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
