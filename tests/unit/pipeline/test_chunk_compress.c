/*
 * Whole-chunk compression with a kept encoder: every frame is one real frame
 * that the pipeline's decompress source turns back into exactly the chunk,
 * and a frame depends only on the chunk's bytes, the codec and the level,
 * never on what the compressor made before (a chunk's content id is computed
 * over its frame, so dedupe across files and backups depends on it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/chunk_compress.h"
#include "pipeline/compress.h"
#include "pipeline/stream.h"
#include "test_data.h"
#include "test_main.h"

#define MIB ((size_t)1024 * 1024)
#define BIG_SIZE (4 * MIB)

static pgb_ctx *ctx;
static uint8_t *random_data; /* incompressible */
static uint8_t *text_data;   /* compresses well, like table files and WAL */

struct setting {
    int codec, level;
};

/* Every codec, zstd at a fast, the default and a slow level (its parameters differ by level). */
static const struct setting settings[] = {
    {PGB_CODEC_ZSTD, 1}, {PGB_CODEC_ZSTD, 3}, {PGB_CODEC_ZSTD, 19}, {PGB_CODEC_LZ4, 1},
    {PGB_CODEC_LZ4, 9},  {PGB_CODEC_GZIP, 6}, {PGB_CODEC_NONE, 0},
};
#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

struct bytes {
    uint8_t *data;
    size_t size;
};

static int setup(void)
{
    random_data = malloc(BIG_SIZE);
    text_data = malloc(BIG_SIZE);
    if (!random_data || !text_data || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    test_fill_random(random_data, BIG_SIZE, 0x9e3779b97f4a7c15ull);
    test_fill_text(text_data, BIG_SIZE, 42);
    return 0;
}

static int teardown(void)
{
    free(random_data);
    free(text_data);
    pgb_ctx_free(ctx);
    return 0;
}

static const char *name_of(const struct setting *s)
{
    return pgb_codec_name(s->codec);
}

/* Compress with c and keep a copy: the compressor's output is only valid until its next call. */
static int compress_copy(pgb_chunk_compressor *c, const uint8_t *data, size_t size, struct bytes *out)
{
    const uint8_t *frame = NULL;
    size_t frame_size = 0;
    out->data = NULL;
    out->size = 0;
    int rc = pgb_chunk_compress(c, data, size, &frame, &frame_size);
    if (rc != PGB_OK)
        return rc;
    out->data = malloc(frame_size + 1);
    if (!out->data)
        return PGB_ENOMEM;
    if (frame_size)
        memcpy(out->data, frame, frame_size);
    out->size = frame_size;
    return PGB_OK;
}

/* The frame through the pipeline's decompress source, which accepts exactly one whole frame. */
static int decompress_frame(int codec, const struct bytes *frame, struct bytes *out)
{
    pgb_source *memory = NULL, *source = NULL;
    out->data = NULL;
    out->size = 0;
    int rc = pgb_memory_source_new(ctx, frame->data, frame->size, &memory);
    if (rc != PGB_OK)
        return rc;
    if ((rc = pgb_decompress_source_new(ctx, codec, memory, &source)) != PGB_OK) {
        pgb_source_destroy(memory);
        return rc;
    }
    size_t capacity = 64 * 1024;
    out->data = malloc(capacity);
    for (;;) {
        if (out->size + 65536 > capacity)
            out->data = realloc(out->data, capacity *= 2);
        size_t got = 0;
        rc = pgb_source_read(source, out->data + out->size, 65536, &got);
        if (rc != PGB_OK || got == 0)
            break;
        out->size += got;
    }
    pgb_source_destroy(source);
    return rc;
}

/* Compressing data with c gives a frame that decompresses to exactly data. */
static int round_trips(const struct setting *s, pgb_chunk_compressor *c, const uint8_t *data, size_t size,
                       size_t *frame_size)
{
    struct bytes frame, plain;
    int rc = compress_copy(c, data, size, &frame);
    CU_ASSERT_EQUAL(rc, PGB_OK);
    if (rc != PGB_OK) {
        fprintf(stderr, "%s:%d, %zu bytes: %s\n", name_of(s), s->level, size, pgb_ctx_errmsg(ctx));
        return 0;
    }
    rc = decompress_frame(s->codec, &frame, &plain);
    int same = rc == PGB_OK && plain.size == size && (size == 0 || memcmp(plain.data, data, size) == 0);
    if (!same)
        fprintf(stderr, "%s:%d, %zu bytes: frame of %zu gave %d, %zu bytes back (%s)\n", name_of(s), s->level, size,
                frame.size, rc, plain.size, rc == PGB_OK ? "" : pgb_ctx_errmsg(ctx));
    if (frame_size)
        *frame_size = frame.size;
    free(frame.data);
    free(plain.data);
    return same;
}

static void test_frames_decompress_to_the_input(void)
{
    const struct {
        const uint8_t *data;
        size_t size;
    } inputs[] = {
        {text_data, 0},   {text_data, 1},          {text_data, 100},   {text_data, 8192},
        {text_data, MIB}, {random_data, 100000},   {text_data + 7, MIB + 1000},
    };
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        /* One compressor for all inputs, as the content writer keeps one per thread. */
        pgb_chunk_compressor *c = NULL;
        CU_ASSERT_EQUAL_FATAL(pgb_chunk_compressor_new(ctx, settings[i].codec, settings[i].level, &c), PGB_OK);
        CU_ASSERT_EQUAL(pgb_chunk_compressor_codec(c), settings[i].codec);
        for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
            size_t frame_size = 0;
            CU_ASSERT(round_trips(&settings[i], c, inputs[k].data, inputs[k].size, &frame_size));
            /* A compressing codec really compresses text. */
            if (settings[i].codec != PGB_CODEC_NONE && inputs[k].size >= MIB)
                CU_ASSERT(frame_size < inputs[k].size / 2);
        }
        pgb_chunk_compressor_free(c);
    }
}

static void test_same_chunk_same_frame_after_other_chunks(void)
{
    /* A: a chunk; B and C: others before it, smaller and larger, text and random. */
    const uint8_t *a = text_data, *b = text_data + 2 * MIB, *c_data = random_data;
    const size_t a_sizes[] = {MIB, 1000};
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        for (size_t n = 0; n < 2; n++) {
            size_t a_size = a_sizes[n];
            pgb_chunk_compressor *fresh = NULL, *used = NULL;
            CU_ASSERT_EQUAL_FATAL(pgb_chunk_compressor_new(ctx, settings[i].codec, settings[i].level, &fresh), PGB_OK);
            CU_ASSERT_EQUAL_FATAL(pgb_chunk_compressor_new(ctx, settings[i].codec, settings[i].level, &used), PGB_OK);
            struct bytes first, other, again, later;
            CU_ASSERT_EQUAL_FATAL(compress_copy(fresh, a, a_size, &first), PGB_OK);
            CU_ASSERT_EQUAL_FATAL(compress_copy(used, b, 3000, &other), PGB_OK);
            free(other.data);
            CU_ASSERT_EQUAL_FATAL(compress_copy(used, c_data, 2 * MIB + 5, &other), PGB_OK);
            free(other.data);
            CU_ASSERT_EQUAL_FATAL(compress_copy(used, a, a_size, &again), PGB_OK);
            /* The fresh one too gives the same frame the second time. */
            CU_ASSERT_EQUAL_FATAL(compress_copy(fresh, b, MIB, &other), PGB_OK);
            free(other.data);
            CU_ASSERT_EQUAL_FATAL(compress_copy(fresh, a, a_size, &later), PGB_OK);
            int same = first.size == again.size && memcmp(first.data, again.data, first.size) == 0;
            CU_ASSERT(same);
            if (!same)
                fprintf(stderr, "%s:%d, %zu bytes after others: frame of %zu, fresh %zu\n", name_of(&settings[i]),
                        settings[i].level, a_size, again.size, first.size);
            CU_ASSERT(first.size == later.size && memcmp(first.data, later.data, first.size) == 0);
            free(first.data);
            free(again.data);
            free(later.data);
            pgb_chunk_compressor_free(fresh);
            pgb_chunk_compressor_free(used);
        }
    }
}

static void test_different_chunks_give_different_frames(void)
{
    uint8_t *changed = malloc(MIB);
    CU_ASSERT_PTR_NOT_NULL_FATAL(changed);
    memcpy(changed, text_data, MIB);
    changed[MIB / 2] ^= 0x20;
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        pgb_chunk_compressor *c = NULL;
        CU_ASSERT_EQUAL_FATAL(pgb_chunk_compressor_new(ctx, settings[i].codec, settings[i].level, &c), PGB_OK);
        struct bytes a, one_byte, other, shorter;
        CU_ASSERT_EQUAL_FATAL(compress_copy(c, text_data, MIB, &a), PGB_OK);
        CU_ASSERT_EQUAL_FATAL(compress_copy(c, changed, MIB, &one_byte), PGB_OK);
        CU_ASSERT_EQUAL_FATAL(compress_copy(c, text_data + MIB, MIB, &other), PGB_OK);
        CU_ASSERT_EQUAL_FATAL(compress_copy(c, text_data, MIB - 1, &shorter), PGB_OK);
        const struct bytes *others[] = {&one_byte, &other, &shorter};
        for (size_t k = 0; k < 3; k++) {
            int same = a.size == others[k]->size && memcmp(a.data, others[k]->data, a.size) == 0;
            CU_ASSERT(!same);
            if (same)
                fprintf(stderr, "%s:%d: different chunks (%zu) gave the same frame\n", name_of(&settings[i]),
                        settings[i].level, k);
        }
        free(a.data);
        free(one_byte.data);
        free(other.data);
        free(shorter.data);
        pgb_chunk_compressor_free(c);
    }
    free(changed);
}

static void test_incompressible_chunks_round_trip(void)
{
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        pgb_chunk_compressor *c = NULL;
        CU_ASSERT_EQUAL_FATAL(pgb_chunk_compressor_new(ctx, settings[i].codec, settings[i].level, &c), PGB_OK);
        /* Small first, so the larger chunks outgrow the compressor's buffer. */
        size_t frame_size = 0;
        CU_ASSERT(round_trips(&settings[i], c, random_data, 1000, NULL));
        CU_ASSERT(round_trips(&settings[i], c, random_data, MIB, &frame_size));
        CU_ASSERT(frame_size >= MIB * 99 / 100); /* random bytes do not shrink */
        CU_ASSERT(round_trips(&settings[i], c, random_data + 1, BIG_SIZE - 1, NULL));
        CU_ASSERT(round_trips(&settings[i], c, text_data, 5000, NULL));
        pgb_chunk_compressor_free(c);
    }
}

static void test_codec_none_gives_the_input_itself(void)
{
    pgb_chunk_compressor *c = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_chunk_compressor_new(ctx, PGB_CODEC_NONE, 0, &c), PGB_OK);
    CU_ASSERT_EQUAL(pgb_chunk_compressor_codec(c), PGB_CODEC_NONE);
    const size_t sizes[] = {0, 1, MIB};
    for (size_t k = 0; k < 3; k++) {
        const uint8_t *frame = NULL;
        size_t frame_size = 12345;
        CU_ASSERT_EQUAL(pgb_chunk_compress(c, random_data, sizes[k], &frame, &frame_size), PGB_OK);
        CU_ASSERT_PTR_EQUAL(frame, random_data);
        CU_ASSERT_EQUAL(frame_size, sizes[k]);
    }
    pgb_chunk_compressor_free(c);
}

static void test_unknown_codec_or_level_out_of_range_is_invalid(void)
{
    const struct setting bad[] = {{7, 1}, {-1, 0}, {PGB_CODEC_ZSTD, 0}, {PGB_CODEC_ZSTD, 23},
                                  {PGB_CODEC_LZ4, 13}, {PGB_CODEC_GZIP, 0}, {PGB_CODEC_GZIP, 10}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pgb_chunk_compressor *c = (pgb_chunk_compressor *)&c; /* not NULL: _new must clear it */
        CU_ASSERT_EQUAL(pgb_chunk_compressor_new(ctx, bad[i].codec, bad[i].level, &c), PGB_EINVALID);
        CU_ASSERT_PTR_NULL(c);
    }
    pgb_chunk_compressor_free(NULL); /* like free(NULL): cleanup paths need no check */
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"frames_decompress_to_the_input", test_frames_decompress_to_the_input},
        {"same_chunk_same_frame_after_other_chunks", test_same_chunk_same_frame_after_other_chunks},
        {"different_chunks_give_different_frames", test_different_chunks_give_different_frames},
        {"incompressible_chunks_round_trip", test_incompressible_chunks_round_trip},
        {"codec_none_gives_the_input_itself", test_codec_none_gives_the_input_itself},
        {"unknown_codec_or_level_out_of_range_is_invalid", test_unknown_codec_or_level_out_of_range_is_invalid},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"chunk_compress", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
