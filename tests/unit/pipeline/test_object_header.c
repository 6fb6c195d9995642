/*
 * Object headers (doc/repository-format.md, "Header"): the byte layout of the
 * spec, and a reader that refuses a magic, version, codec or cipher it does
 * not know, saying which.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/object_header.h"
#include "pipeline/stream.h"
#include "test_main.h"

#define NAME "wal/000000010000000000000003"

static pgb_ctx *ctx;

static int setup(void)
{
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

static void fill(uint8_t *p, size_t n, uint8_t first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(first + i);
}

static void test_sizes_follow_the_cipher(void)
{
    CU_ASSERT_EQUAL(pgb_object_header_size(PGB_CIPHER_NONE), 8);
    CU_ASSERT_EQUAL(pgb_object_header_size(PGB_CIPHER_REPOSITORY), 8 + 80);
    CU_ASSERT_EQUAL(pgb_object_header_size(PGB_CIPHER_WRITER), 8 + 60);
    CU_ASSERT_EQUAL(pgb_object_header_size(3), 0);
    CU_ASSERT_EQUAL(pgb_object_header_size(PGB_CIPHER_REPOSITORY), PGB_OBJECT_HEADER_MAX_SIZE);
}

static void test_encoding_is_the_layout_of_the_spec(void)
{
    struct pgb_object_header h;
    uint8_t out[PGB_OBJECT_HEADER_MAX_SIZE];
    size_t size = 0;
    pgb_object_header_init(&h, 2 /* lz4 */, PGB_CIPHER_REPOSITORY);
    fill(h.ephemeral_public, 32, 100);
    fill(h.wrapped_key, 48, 200);
    CU_ASSERT_EQUAL_FATAL(pgb_object_header_encode(ctx, &h, out, &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 88);
    CU_ASSERT(memcmp(out, "PGBO\x01\x02\x01\x00", 8) == 0);
    CU_ASSERT(memcmp(out + 8, h.ephemeral_public, 32) == 0);
    CU_ASSERT(memcmp(out + 40, h.wrapped_key, 48) == 0);

    pgb_object_header_init(&h, 3 /* gzip */, PGB_CIPHER_WRITER);
    fill(h.wrap_nonce, 12, 50);
    fill(h.wrapped_key, 48, 70);
    CU_ASSERT_EQUAL_FATAL(pgb_object_header_encode(ctx, &h, out, &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 68);
    CU_ASSERT(memcmp(out, "PGBO\x01\x03\x02\x00", 8) == 0);
    CU_ASSERT(memcmp(out + 8, h.wrap_nonce, 12) == 0);
    CU_ASSERT(memcmp(out + 20, h.wrapped_key, 48) == 0);

    pgb_object_header_init(&h, 0, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL_FATAL(pgb_object_header_encode(ctx, &h, out, &size), PGB_OK);
    CU_ASSERT_EQUAL(size, 8);
    CU_ASSERT(memcmp(out, "PGBO\x01\x00\x00\x00", 8) == 0);
}

static void test_decode_gives_back_what_was_encoded(void)
{
    for (int cipher = 0; cipher <= 2; cipher++) {
        for (int codec = 0; codec <= 3; codec++) {
            struct pgb_object_header h, back;
            uint8_t out[PGB_OBJECT_HEADER_MAX_SIZE + 10];
            size_t size = 0, decoded_size = 0;
            pgb_object_header_init(&h, codec, cipher);
            if (cipher == PGB_CIPHER_REPOSITORY)
                fill(h.ephemeral_public, 32, (uint8_t)(codec + 1));
            if (cipher == PGB_CIPHER_WRITER)
                fill(h.wrap_nonce, 12, (uint8_t)(codec + 2));
            if (cipher != PGB_CIPHER_NONE)
                fill(h.wrapped_key, 48, (uint8_t)(codec + 3));
            CU_ASSERT_EQUAL_FATAL(pgb_object_header_encode(ctx, &h, out, &size), PGB_OK);
            /* Body bytes after the header are not part of it. */
            memset(out + size, 0xAA, 10);
            CU_ASSERT_EQUAL_FATAL(
                pgb_object_header_decode(ctx, NAME, out, size + 10, &back, &decoded_size), PGB_OK);
            CU_ASSERT_EQUAL(decoded_size, size);
            CU_ASSERT(memcmp(&h, &back, sizeof(h)) == 0);
        }
    }
}

static void test_header_is_read_from_a_stream_and_the_body_follows(void)
{
    struct pgb_object_header h, back;
    uint8_t object[PGB_OBJECT_HEADER_MAX_SIZE + 4], raw[PGB_OBJECT_HEADER_MAX_SIZE];
    size_t size = 0, raw_size = 0, got = 0;
    pgb_object_header_init(&h, 1, PGB_CIPHER_WRITER);
    fill(h.wrap_nonce, 12, 9);
    fill(h.wrapped_key, 48, 33);
    CU_ASSERT_EQUAL_FATAL(pgb_object_header_encode(ctx, &h, object, &size), PGB_OK);
    memcpy(object + size, "body", 4);
    pgb_source *source = NULL;
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, object, size + 4, &source) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_object_header_read(ctx, NAME, source, &back, raw, &raw_size), PGB_OK);
    CU_ASSERT_EQUAL(raw_size, size);
    CU_ASSERT(memcmp(raw, object, size) == 0);
    CU_ASSERT(memcmp(&h, &back, sizeof(h)) == 0);
    uint8_t body[8];
    CU_ASSERT_EQUAL(pgb_source_read_full(source, body, sizeof(body), &got), PGB_OK);
    CU_ASSERT(got == 4 && memcmp(body, "body", 4) == 0);
    pgb_source_destroy(source);
}

/* Decode bytes and check the code and exact message. */
static void assert_refused(const uint8_t *bytes, size_t size, int code, const char *message)
{
    struct pgb_object_header h;
    size_t header_size = 0;
    CU_ASSERT_EQUAL(pgb_object_header_decode(ctx, NAME, bytes, size, &h, &header_size), code);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), message);
    /* Reading from a stream says the same. */
    pgb_source *source = NULL;
    uint8_t raw[PGB_OBJECT_HEADER_MAX_SIZE];
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, bytes, size, &source) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_object_header_read(ctx, NAME, source, &h, raw, &header_size), code);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), message);
    pgb_source_destroy(source);
}

static void test_bad_magic_is_not_our_object(void)
{
    assert_refused((const uint8_t *)"PK\x03\x04\x01\x00\x00\x00", 8, PGB_ECORRUPT,
                   "object " NAME ": not a libpgbackup object (bad magic)");
    assert_refused((const uint8_t *)"{\"", 2, PGB_ECORRUPT,
                   "object " NAME ": not a libpgbackup object (bad magic)");
}

static void test_newer_version_is_unsupported(void)
{
    assert_refused((const uint8_t *)"PGBO\x07\x00\x00\x00", 8, PGB_EUNSUPPORTED,
                   "object " NAME ": format version 7 is newer than this library understands (1)");
    assert_refused((const uint8_t *)"PGBO\x00\x00\x00\x00", 8, PGB_EUNSUPPORTED,
                   "object " NAME ": format version 0 is not one this library understands (1)");
}

static void test_unknown_codec_and_cipher_are_named(void)
{
    assert_refused((const uint8_t *)"PGBO\x01\x09\x00\x00", 8, PGB_EUNSUPPORTED,
                   "object " NAME ": unknown codec 9 (this library knows 0 none, 1 zstd, "
                   "2 lz4, 3 gzip)");
    assert_refused((const uint8_t *)"PGBO\x01\x00\x03\x00", 8, PGB_EUNSUPPORTED,
                   "object " NAME ": unknown cipher 3 (this library knows 0 none, "
                   "1 repository key, 2 writer key)");
    assert_refused((const uint8_t *)"PGBO\x01\x00\x00\x01", 8, PGB_EUNSUPPORTED,
                   "object " NAME ": reserved header byte is 1, this library understands only 0");
}

static void test_short_header_is_truncation(void)
{
    assert_refused((const uint8_t *)"", 0, PGB_ECORRUPT,
                   "object " NAME " is truncated: it has 0 bytes, its header needs 8");
    assert_refused((const uint8_t *)"PGBO\x01", 5, PGB_ECORRUPT,
                   "object " NAME " is truncated: it has 5 bytes, its header needs 8");
    uint8_t cut[87] = "PGBO\x01\x00\x01\x00";
    assert_refused(cut, sizeof(cut), PGB_ECORRUPT,
                   "object " NAME " is truncated: it has 87 bytes, its header needs 88");
}

static void test_encode_refuses_what_it_cannot_write(void)
{
    struct pgb_object_header h;
    uint8_t out[PGB_OBJECT_HEADER_MAX_SIZE];
    size_t size = 0;
    pgb_object_header_init(&h, 4, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL(pgb_object_header_encode(ctx, &h, out, &size), PGB_EINVALID);
    pgb_object_header_init(&h, 0, 7);
    CU_ASSERT_EQUAL(pgb_object_header_encode(ctx, &h, out, &size), PGB_EINVALID);
    pgb_object_header_init(&h, 0, 0);
    h.version = 2;
    CU_ASSERT_EQUAL(pgb_object_header_encode(ctx, &h, out, &size), PGB_EINVALID);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"sizes_follow_the_cipher", test_sizes_follow_the_cipher},
        {"encoding_is_the_layout_of_the_spec", test_encoding_is_the_layout_of_the_spec},
        {"decode_gives_back_what_was_encoded", test_decode_gives_back_what_was_encoded},
        {"header_is_read_from_a_stream_and_the_body_follows",
         test_header_is_read_from_a_stream_and_the_body_follows},
        {"bad_magic_is_not_our_object", test_bad_magic_is_not_our_object},
        {"newer_version_is_unsupported", test_newer_version_is_unsupported},
        {"unknown_codec_and_cipher_are_named", test_unknown_codec_and_cipher_are_named},
        {"short_header_is_truncation", test_short_header_is_truncation},
        {"encode_refuses_what_it_cannot_write", test_encode_refuses_what_it_cannot_write},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"object_header", setup, teardown, NULL, NULL, tests},
                             CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
