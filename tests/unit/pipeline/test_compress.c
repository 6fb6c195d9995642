/*
 * Compression stages: every codec gives back exactly what it was given, in
 * any chunking; damage (truncation, flipped bytes, appended data) is never
 * returned as data; and the streams are the real formats the command-line
 * tools read and write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/checksum.h"
#include "pipeline/compress.h"
#include "pipeline/stream.h"
#include "test_data.h"
#include "test_main.h"

#define MIB ((size_t)1024 * 1024)
#define BIG_SIZE (10 * MIB)

static pgb_ctx *ctx;
static uint8_t *random_data; /* incompressible */
static uint8_t *text_data;   /* compresses well, like table files and WAL */

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

/* Compress data through a memory sink, writing chunk bytes at a time. */
static int compress_bytes(int codec, int level, const uint8_t *data, size_t size, size_t chunk,
                          struct bytes *out)
{
    pgb_sink *memory = NULL, *sink = NULL;
    int rc = pgb_memory_sink_new(ctx, &memory);
    if (rc != PGB_OK)
        return rc;
    if ((rc = pgb_compress_sink_new(ctx, codec, level, memory, &sink)) != PGB_OK) {
        pgb_sink_destroy(memory);
        return rc;
    }
    for (size_t offset = 0; offset < size && rc == PGB_OK; offset += chunk)
        rc = pgb_sink_write(sink, data + offset, size - offset < chunk ? size - offset : chunk);
    if (rc == PGB_OK)
        rc = pgb_sink_finish(sink);
    if (rc == PGB_OK) {
        const uint8_t *compressed = pgb_memory_sink_data(memory, &out->size);
        out->data = malloc(out->size + 1);
        if (out->size)
            memcpy(out->data, compressed, out->size);
    }
    pgb_sink_destroy(sink);
    return rc;
}

/* Read a whole source, chunk bytes per read; out gets what was read even on failure. */
static int read_all(pgb_source *source, size_t chunk, struct bytes *out)
{
    size_t capacity = 4096;
    out->data = malloc(capacity);
    out->size = 0;
    for (;;) {
        if (out->size + chunk > capacity) {
            while (out->size + chunk > capacity)
                capacity *= 2;
            out->data = realloc(out->data, capacity);
        }
        size_t got = 0;
        int rc = pgb_source_read(source, out->data + out->size, chunk, &got);
        if (rc != PGB_OK)
            return rc;
        if (got == 0)
            return PGB_OK;
        if (got > chunk)
            return PGB_ERROR; /* a source wrote past what it was asked for */
        out->size += got;
    }
}

static int decompress_bytes(int codec, const uint8_t *data, size_t size, size_t chunk,
                            struct bytes *out)
{
    pgb_source *memory = NULL, *source = NULL;
    out->data = NULL;
    int rc = pgb_memory_source_new(ctx, data, size, &memory);
    if (rc != PGB_OK)
        return rc;
    if ((rc = pgb_decompress_source_new(ctx, codec, memory, &source)) != PGB_OK) {
        pgb_source_destroy(memory);
        return rc;
    }
    rc = read_all(source, chunk, out);
    pgb_source_destroy(source);
    return rc;
}

static int same_bytes(const struct bytes *b, const uint8_t *data, size_t size)
{
    return b->size == size && (size == 0 || memcmp(b->data, data, size) == 0);
}

/* Compress and decompress; asserts the same bytes came back; returns the compressed size. */
static size_t round_trip(int codec, int level, const uint8_t *data, size_t size, size_t write_chunk,
                         size_t read_chunk)
{
    struct bytes compressed = {0}, plain = {0};
    int rc = compress_bytes(codec, level, data, size, write_chunk, &compressed);
    CU_ASSERT_EQUAL(rc, PGB_OK);
    if (rc != PGB_OK) {
        fprintf(stderr, "compress %s:%d of %zu: %s\n", pgb_codec_name(codec), level, size,
                pgb_ctx_errmsg(ctx));
        return 0;
    }
    rc = decompress_bytes(codec, compressed.data, compressed.size, read_chunk, &plain);
    CU_ASSERT_EQUAL(rc, PGB_OK);
    int same = same_bytes(&plain, data, size);
    CU_ASSERT(same);
    if (rc != PGB_OK || !same)
        fprintf(stderr, "round trip %s:%d of %zu bytes (write %zu, read %zu): %s\n",
                pgb_codec_name(codec), level, size, write_chunk, read_chunk, pgb_ctx_errmsg(ctx));
    free(compressed.data);
    free(plain.data);
    return compressed.size;
}

struct codec_level {
    int codec, level;
    size_t max_size; /* the slowest levels get smaller inputs, to keep the test quick */
};

static const struct codec_level codec_levels[] = {
    {PGB_CODEC_NONE, 0, BIG_SIZE}, {PGB_CODEC_ZSTD, 1, BIG_SIZE}, {PGB_CODEC_ZSTD, 3, BIG_SIZE},
    {PGB_CODEC_ZSTD, 9, BIG_SIZE}, {PGB_CODEC_ZSTD, 19, MIB},     {PGB_CODEC_LZ4, 1, BIG_SIZE},
    {PGB_CODEC_LZ4, 9, BIG_SIZE},  {PGB_CODEC_LZ4, 12, MIB},      {PGB_CODEC_GZIP, 1, BIG_SIZE},
    {PGB_CODEC_GZIP, 6, BIG_SIZE}, {PGB_CODEC_GZIP, 9, MIB},
};
#define CODEC_LEVEL_COUNT (sizeof(codec_levels) / sizeof(codec_levels[0]))

static size_t size_for(const struct codec_level *c, size_t size)
{
    return size < c->max_size ? size : c->max_size;
}
static const int real_codecs[] = {PGB_CODEC_ZSTD, PGB_CODEC_LZ4, PGB_CODEC_GZIP};

static void test_codec_spec_parses_names_and_default_levels(void)
{
    static const struct {
        const char *spec;
        int codec, level;
    } cases[] = {
        {"zstd", PGB_CODEC_ZSTD, 3}, {"zstd:3", PGB_CODEC_ZSTD, 3}, {"zstd:22", PGB_CODEC_ZSTD, 22},
        {"lz4", PGB_CODEC_LZ4, 1},   {"lz4:1", PGB_CODEC_LZ4, 1},   {"lz4:12", PGB_CODEC_LZ4, 12},
        {"gzip", PGB_CODEC_GZIP, 6}, {"gzip:6", PGB_CODEC_GZIP, 6}, {"gzip:1", PGB_CODEC_GZIP, 1},
        {"none", PGB_CODEC_NONE, 0}, {"none:0", PGB_CODEC_NONE, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int codec = -1, level = -1;
        CU_ASSERT_EQUAL(pgb_codec_parse(ctx, cases[i].spec, &codec, &level), PGB_OK);
        CU_ASSERT_EQUAL(codec, cases[i].codec);
        CU_ASSERT_EQUAL(level, cases[i].level);
    }
}

static void test_codec_spec_errors_name_the_spec(void)
{
    static const char *const bad[] = {
        "brotli",  "zstd:0",  "zstd:23", "zstd:", "zstd:x", "lz4:13",
        "gzip:10", "gzip:-1", "none:1",  "ZSTD",  "",       "zstd:3:4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int codec = 7, level = 7;
        CU_ASSERT_EQUAL(pgb_codec_parse(ctx, bad[i], &codec, &level), PGB_EINVALID);
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), quoted));
        CU_ASSERT_EQUAL(codec, 7); /* untouched on failure */
    }
    int codec, level;
    pgb_codec_parse(ctx, "zstd:23", &codec, &level);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "level from 1 to 22"));
    pgb_codec_parse(ctx, "brotli", &codec, &level);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "zstd, lz4, gzip or none"));
}

static void test_codec_values_are_the_header_bytes(void)
{
    CU_ASSERT_EQUAL(PGB_CODEC_NONE, 0);
    CU_ASSERT_EQUAL(PGB_CODEC_ZSTD, 1);
    CU_ASSERT_EQUAL(PGB_CODEC_LZ4, 2);
    CU_ASSERT_EQUAL(PGB_CODEC_GZIP, 3);
    CU_ASSERT_STRING_EQUAL(pgb_codec_name(PGB_CODEC_NONE), "none");
    CU_ASSERT_STRING_EQUAL(pgb_codec_name(PGB_CODEC_ZSTD), "zstd");
    CU_ASSERT_STRING_EQUAL(pgb_codec_name(PGB_CODEC_LZ4), "lz4");
    CU_ASSERT_STRING_EQUAL(pgb_codec_name(PGB_CODEC_GZIP), "gzip");
    CU_ASSERT_PTR_NULL(pgb_codec_name(4));
    CU_ASSERT_PTR_NULL(pgb_codec_name(-1));
}

static void test_every_codec_and_level_round_trips_every_size(void)
{
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, BIG_SIZE};
    for (size_t c = 0; c < CODEC_LEVEL_COUNT; c++)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t size = size_for(&codec_levels[c], sizes[s]);
            round_trip(codec_levels[c].codec, codec_levels[c].level, random_data, size, MIB, MIB);
            round_trip(codec_levels[c].codec, codec_levels[c].level, text_data, size, MIB, MIB);
        }
}

static void test_highest_levels_round_trip(void)
{
    /* zstd's ultra levels zero hundreds of MiB of tables per stream: small inputs only. */
    static const size_t sizes[] = {0, 65537, MIB};
    for (size_t s = 0; s < 3; s++) {
        CU_ASSERT(round_trip(PGB_CODEC_ZSTD, 22, text_data, sizes[s], 7777, 65536) <=
                  sizes[s] / 2 + 16);
        CU_ASSERT(round_trip(PGB_CODEC_LZ4, 12, text_data, sizes[s], 7777, 65536) <=
                  sizes[s] / 2 + 32);
        CU_ASSERT(round_trip(PGB_CODEC_GZIP, 9, random_data, sizes[s], 7777, 65536) > sizes[s]);
    }
}

static void test_compressible_data_gets_smaller(void)
{
    static const size_t sizes[] = {65535, 65536, 65537, BIG_SIZE};
    for (size_t c = 0; c < CODEC_LEVEL_COUNT; c++) {
        if (codec_levels[c].codec == PGB_CODEC_NONE)
            continue;
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t plain = size_for(&codec_levels[c], sizes[s]);
            size_t size = round_trip(codec_levels[c].codec, codec_levels[c].level, text_data, plain,
                                     65536, 65536);
            CU_ASSERT(size > 0 && size < plain / 2);
        }
    }
    /* Random data cannot shrink, but the frame overhead stays small. */
    for (size_t i = 0; i < 3; i++) {
        size_t size = round_trip(real_codecs[i], 1, random_data, BIG_SIZE, MIB, MIB);
        CU_ASSERT(size < BIG_SIZE + BIG_SIZE / 100);
    }
    CU_ASSERT_EQUAL(round_trip(PGB_CODEC_NONE, 0, text_data, 65537, 65536, 65536), 65537);
}

static void test_odd_write_chunks_round_trip(void)
{
    for (size_t c = 0; c < CODEC_LEVEL_COUNT; c++) {
        const struct codec_level *cl = &codec_levels[c];
        round_trip(cl->codec, cl->level, text_data, 200003, 1, 65536);
        round_trip(cl->codec, cl->level, random_data, 200003, 7, 65536);
        round_trip(cl->codec, cl->level, text_data, size_for(cl, BIG_SIZE), 100003, 65536);
        round_trip(cl->codec, cl->level, random_data, size_for(cl, BIG_SIZE), 100003, 65536);
    }
}

static void test_odd_read_sizes_round_trip(void)
{
    for (size_t c = 0; c < CODEC_LEVEL_COUNT; c++) {
        const struct codec_level *cl = &codec_levels[c];
        round_trip(cl->codec, cl->level, text_data, 65537, MIB, 1);
        round_trip(cl->codec, cl->level, random_data, 300007, MIB, 7);
        round_trip(cl->codec, cl->level, text_data, size_for(cl, BIG_SIZE), MIB, 4093);
        round_trip(cl->codec, cl->level, random_data, size_for(cl, BIG_SIZE), MIB, 100003);
    }
}

static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static void test_truncated_stream_is_corrupt(void)
{
    for (size_t i = 0; i < 3; i++) {
        int codec = real_codecs[i];
        const char *name = pgb_codec_name(codec);
        for (int kind = 0; kind < 2; kind++) {
            const uint8_t *data = kind ? random_data : text_data;
            struct bytes compressed = {0};
            CU_ASSERT_FATAL(compress_bytes(codec, 1, data, 3 * 65536 + 5, 65536, &compressed) ==
                            PGB_OK);
            size_t cuts[] = {0,
                             1,
                             4,
                             10,
                             compressed.size / 3,
                             compressed.size / 2,
                             compressed.size - 4,
                             compressed.size - 1};
            for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
                struct bytes plain = {0};
                int rc = decompress_bytes(codec, compressed.data, cuts[k], 65536, &plain);
                CU_ASSERT_EQUAL(rc, PGB_ECORRUPT);
                CU_ASSERT(starts_with(pgb_ctx_errmsg(ctx), name));
                if (rc != PGB_ECORRUPT)
                    fprintf(stderr, "%s cut at %zu of %zu: %d %s\n", name, cuts[k], compressed.size,
                            rc, pgb_ctx_errmsg(ctx));
                free(plain.data);
            }
            /* The end of a frame that was cut off says so in words. */
            struct bytes plain = {0};
            decompress_bytes(codec, compressed.data, compressed.size - 1, 65536, &plain);
            char expected[64];
            snprintf(expected, sizeof(expected), "%s stream is truncated", name);
            CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), expected);
            free(plain.data);
            free(compressed.data);
        }
    }
}

static void test_empty_input_is_not_a_stream(void)
{
    for (size_t i = 0; i < 3; i++) {
        struct bytes plain = {0};
        CU_ASSERT_EQUAL(decompress_bytes(real_codecs[i], (const uint8_t *)"", 0, 4096, &plain),
                        PGB_ECORRUPT);
        CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "truncated"));
        free(plain.data);
    }
    /* An empty object compresses to a real frame that gives back nothing. */
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT(round_trip(real_codecs[i], 1, text_data, 0, 1, 1) > 0);
}

static void test_garbage_input_is_corrupt_with_the_codec_message(void)
{
    for (size_t i = 0; i < 3; i++) {
        struct bytes plain = {0};
        CU_ASSERT_EQUAL(decompress_bytes(real_codecs[i], text_data, 4096, 4096, &plain),
                        PGB_ECORRUPT);
        CU_ASSERT(starts_with(pgb_ctx_errmsg(ctx), pgb_codec_name(real_codecs[i])));
        free(plain.data);
    }
    struct bytes plain = {0};
    decompress_bytes(PGB_CODEC_ZSTD, text_data, 4096, 4096, &plain);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "zstd: Unknown frame descriptor");
    free(plain.data);
}

static void test_bytes_after_the_frame_are_corrupt(void)
{
    for (size_t i = 0; i < 3; i++) {
        int codec = real_codecs[i];
        struct bytes one = {0};
        CU_ASSERT_FATAL(compress_bytes(codec, 1, text_data, 100000, 65536, &one) == PGB_OK);
        /* A stray zero byte, then a whole second frame (gzip: a second member). */
        uint8_t *joined = malloc(2 * one.size);
        memcpy(joined, one.data, one.size);
        joined[one.size] = 0;
        for (int k = 0; k < 2; k++) {
            if (k == 1)
                memcpy(joined + one.size, one.data, one.size);
            struct bytes plain = {0};
            size_t length = k == 0 ? one.size + 1 : 2 * one.size;
            CU_ASSERT_EQUAL(decompress_bytes(codec, joined, length, 65536, &plain), PGB_ECORRUPT);
            CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "data after the end of the"));
            CU_ASSERT(starts_with(pgb_ctx_errmsg(ctx), pgb_codec_name(codec)));
            /* Everything of the first frame was handed out before the error. */
            CU_ASSERT(same_bytes(&plain, text_data, 100000));
            free(plain.data);
        }
        free(joined);
        free(one.data);
    }
}

/* Write through sha256 -> compress -> memory; *digest is what the manifest would record. */
static int store_with_digest(int codec, int level, const uint8_t *data, size_t size,
                             struct bytes *out, uint8_t digest[PGB_SHA256_SIZE])
{
    pgb_sink *memory = NULL, *compress = NULL, *sha = NULL;
    int rc = pgb_memory_sink_new(ctx, &memory);
    CU_ASSERT_FATAL(rc == PGB_OK);
    CU_ASSERT_FATAL(pgb_compress_sink_new(ctx, codec, level, memory, &compress) == PGB_OK);
    CU_ASSERT_FATAL(pgb_sha256_sink_new(ctx, compress, &sha) == PGB_OK);
    for (size_t offset = 0; offset < size && rc == PGB_OK; offset += 10007)
        rc = pgb_sink_write(sha, data + offset, size - offset < 10007 ? size - offset : 10007);
    if (rc == PGB_OK)
        rc = pgb_sink_finish(sha);
    if (rc == PGB_OK)
        rc = pgb_sha256_sink_digest(sha, digest);
    CU_ASSERT_EQUAL(pgb_sha256_sink_bytes(sha), size);
    const uint8_t *stored = pgb_memory_sink_data(memory, &out->size);
    out->data = malloc(out->size);
    memcpy(out->data, stored, out->size);
    pgb_sink_destroy(sha);
    return rc;
}

/* Read memory -> decompress -> sha256 (checked against digest). */
static int load_checked(int codec, const struct bytes *stored,
                        const uint8_t digest[PGB_SHA256_SIZE], struct bytes *out)
{
    pgb_source *memory = NULL, *decompress = NULL, *sha = NULL;
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, stored->data, stored->size, &memory) == PGB_OK);
    CU_ASSERT_FATAL(pgb_decompress_source_new(ctx, codec, memory, &decompress) == PGB_OK);
    CU_ASSERT_FATAL(pgb_sha256_source_new(ctx, decompress, digest, "base/16384/2619", &sha) ==
                    PGB_OK);
    int rc = read_all(sha, 8191, out);
    pgb_source_destroy(sha);
    return rc;
}

static void test_flipped_byte_never_yields_wrong_data(void)
{
    static const int codecs[] = {PGB_CODEC_NONE, PGB_CODEC_ZSTD, PGB_CODEC_LZ4, PGB_CODEC_GZIP};
    const size_t size = 300000;
    for (size_t c = 0; c < 4; c++) {
        int codec = codecs[c], level = codec == PGB_CODEC_NONE ? 0 : 1;
        struct bytes stored = {0}, plain = {0};
        uint8_t digest[PGB_SHA256_SIZE];
        CU_ASSERT_FATAL(store_with_digest(codec, level, text_data, size, &stored, digest) ==
                        PGB_OK);
        CU_ASSERT_EQUAL(load_checked(codec, &stored, digest, &plain), PGB_OK);
        CU_ASSERT(same_bytes(&plain, text_data, size));
        free(plain.data);

        size_t positions[] = {0,
                              1,
                              3,
                              5,
                              9,
                              13,
                              17,
                              100,
                              stored.size / 3,
                              stored.size / 2,
                              stored.size - 9,
                              stored.size - 5,
                              stored.size - 1};
        int failures = 0;
        for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
            for (int bit = 0; bit < 8; bit += 7) {
                stored.data[positions[p]] ^= (uint8_t)(1u << bit);
                int rc = load_checked(codec, &stored, digest, &plain);
                stored.data[positions[p]] ^= (uint8_t)(1u << bit);
                /* Either the read fails as damage, or what came back is exactly right
                   (a flip in a field no format checks, such as gzip's MTIME). */
                CU_ASSERT(rc == PGB_ECORRUPT ||
                          (rc == PGB_OK && same_bytes(&plain, text_data, size)));
                if (rc == PGB_ECORRUPT)
                    failures++;
                if (rc != PGB_ECORRUPT && !(rc == PGB_OK && same_bytes(&plain, text_data, size)))
                    fprintf(stderr, "%s flip at %zu bit %d: rc %d %s\n", pgb_codec_name(codec),
                            positions[p], bit, rc, pgb_ctx_errmsg(ctx));
                free(plain.data);
            }
        }
        CU_ASSERT(failures >= 20); /* of 26 flips, only header fields nobody checks may pass */

        /* Without compression, the SHA-256 is what catches it, naming the object. */
        if (codec == PGB_CODEC_NONE) {
            stored.data[stored.size / 2] ^= 0x20;
            CU_ASSERT_EQUAL(load_checked(codec, &stored, digest, &plain), PGB_ECORRUPT);
            CU_ASSERT(starts_with(pgb_ctx_errmsg(ctx),
                                  "checksum mismatch in base/16384/2619: expected "));
            free(plain.data);
        }
        free(stored.data);
    }
}

static char *temp_file_with(const struct bytes *content)
{
    char *path = strdup("/tmp/pgb-test-compress-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, content->data, content->size), (ssize_t)content->size);
    close(fd);
    return path;
}

/* Run a shell command and collect its standard output; returns its exit status. */
static int run_and_read(const char *command, struct bytes *out)
{
    FILE *pipe = popen(command, "r");
    CU_ASSERT_FATAL(pipe != NULL);
    size_t capacity = MIB;
    out->data = malloc(capacity);
    out->size = 0;
    size_t n;
    while ((n = fread(out->data + out->size, 1, capacity - out->size, pipe)) > 0) {
        out->size += n;
        if (out->size == capacity)
            out->data = realloc(out->data, capacity *= 2);
    }
    return pclose(pipe);
}

/* Our stream, decompressed by the codec's own command-line tool. */
static void check_tool_reads(int codec, int level, const char *tool, const uint8_t *data,
                             size_t size)
{
    struct bytes compressed = {0}, plain = {0};
    CU_ASSERT_FATAL(compress_bytes(codec, level, data, size, 100003, &compressed) == PGB_OK);
    char *path = temp_file_with(&compressed);
    char command[256];
    snprintf(command, sizeof(command), "%s -dc < %s", tool, path);
    CU_ASSERT_EQUAL(run_and_read(command, &plain), 0);
    CU_ASSERT(same_bytes(&plain, data, size));
    unlink(path);
    free(path);
    free(plain.data);
    free(compressed.data);
}

/* The tool's stream, decompressed by us. */
static void check_reads_tool_output(int codec, const char *tool, const uint8_t *data, size_t size)
{
    struct bytes original = {(uint8_t *)data, size}, compressed = {0}, plain = {0};
    char *path = temp_file_with(&original);
    char command[256];
    snprintf(command, sizeof(command), "%s -c < %s", tool, path);
    CU_ASSERT_EQUAL(run_and_read(command, &compressed), 0);
    CU_ASSERT_EQUAL(decompress_bytes(codec, compressed.data, compressed.size, 65536, &plain),
                    PGB_OK);
    CU_ASSERT(same_bytes(&plain, data, size));
    unlink(path);
    free(path);
    free(plain.data);
    free(compressed.data);
}

static void test_gzip_stream_is_real_gzip(void)
{
    CU_ASSERT_FATAL(access("/usr/bin/gzip", X_OK) == 0);
    check_tool_reads(PGB_CODEC_GZIP, 6, "/usr/bin/gzip", text_data, BIG_SIZE);
    check_tool_reads(PGB_CODEC_GZIP, 1, "/usr/bin/gzip", random_data, 65537);
    check_tool_reads(PGB_CODEC_GZIP, 9, "/usr/bin/gzip", text_data, 0);
    check_reads_tool_output(PGB_CODEC_GZIP, "/usr/bin/gzip", text_data, BIG_SIZE);
}

static void test_zstd_stream_is_real_zstd(void)
{
    CU_ASSERT_FATAL(access("/usr/bin/zstd", X_OK) == 0);
    check_tool_reads(PGB_CODEC_ZSTD, 3, "/usr/bin/zstd -q", text_data, BIG_SIZE);
    check_tool_reads(PGB_CODEC_ZSTD, 19, "/usr/bin/zstd -q", random_data, 65537);
    check_tool_reads(PGB_CODEC_ZSTD, 1, "/usr/bin/zstd -q", text_data, 0);
    check_reads_tool_output(PGB_CODEC_ZSTD, "/usr/bin/zstd -q", text_data, BIG_SIZE);
}

static void test_lz4_stream_is_real_lz4_frame(void)
{
    /* scripts/install-deps installs the lz4 tool: its absence is a failure, not a skip. */
    CU_ASSERT_EQUAL_FATAL(access("/usr/bin/lz4", X_OK), 0);
    check_tool_reads(PGB_CODEC_LZ4, 1, "/usr/bin/lz4 -q", text_data, BIG_SIZE);
    check_tool_reads(PGB_CODEC_LZ4, 9, "/usr/bin/lz4 -q", random_data, 65537);
    check_reads_tool_output(PGB_CODEC_LZ4, "/usr/bin/lz4 -q", text_data, BIG_SIZE);
}

static void test_failed_creation_leaves_next_with_the_caller(void)
{
    pgb_sink *memory = NULL, *sink = (pgb_sink *)&sink;
    CU_ASSERT_FATAL(pgb_memory_sink_new(ctx, &memory) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_compress_sink_new(ctx, PGB_CODEC_ZSTD, 23, memory, &sink), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "zstd takes a level from 1 to 22"));
    CU_ASSERT_EQUAL(pgb_compress_sink_new(ctx, 9, 1, memory, &sink), PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_compress_sink_new(ctx, PGB_CODEC_NONE, 3, memory, &sink), PGB_EINVALID);
    CU_ASSERT_PTR_EQUAL(sink, (pgb_sink *)&sink);
    /* Still ours, still usable: */
    CU_ASSERT_EQUAL(pgb_sink_write(memory, (const uint8_t *)"x", 1), PGB_OK);
    pgb_sink_destroy(memory);

    pgb_source *upstream = NULL, *source = NULL;
    CU_ASSERT_FATAL(pgb_memory_source_new(ctx, text_data, 10, &upstream) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_decompress_source_new(ctx, 9, upstream, &source), PGB_EINVALID);
    CU_ASSERT_PTR_NULL(source);
    pgb_source_destroy(upstream);
}

static void test_compress_sink_refuses_use_after_finish(void)
{
    pgb_sink *memory = NULL, *sink = NULL;
    CU_ASSERT_FATAL(pgb_memory_sink_new(ctx, &memory) == PGB_OK);
    CU_ASSERT_FATAL(pgb_compress_sink_new(ctx, PGB_CODEC_LZ4, 1, memory, &sink) == PGB_OK);
    CU_ASSERT_EQUAL(pgb_sink_write(sink, text_data, 1000), PGB_OK);
    CU_ASSERT_EQUAL(pgb_sink_finish(sink), PGB_OK);
    CU_ASSERT_EQUAL(pgb_sink_write(sink, text_data, 1), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(pgb_ctx_errmsg(ctx), "lz4 compression stream used after it was finished"));
    CU_ASSERT_EQUAL(pgb_sink_finish(sink), PGB_EINVALID);
    pgb_sink_destroy(sink);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"codec_spec_parses_names_and_default_levels",
         test_codec_spec_parses_names_and_default_levels},
        {"codec_spec_errors_name_the_spec", test_codec_spec_errors_name_the_spec},
        {"codec_values_are_the_header_bytes", test_codec_values_are_the_header_bytes},
        {"every_codec_and_level_round_trips_every_size",
         test_every_codec_and_level_round_trips_every_size},
        {"highest_levels_round_trip", test_highest_levels_round_trip},
        {"compressible_data_gets_smaller", test_compressible_data_gets_smaller},
        {"odd_write_chunks_round_trip", test_odd_write_chunks_round_trip},
        {"odd_read_sizes_round_trip", test_odd_read_sizes_round_trip},
        {"truncated_stream_is_corrupt", test_truncated_stream_is_corrupt},
        {"empty_input_is_not_a_stream", test_empty_input_is_not_a_stream},
        {"garbage_input_is_corrupt_with_the_codec_message",
         test_garbage_input_is_corrupt_with_the_codec_message},
        {"bytes_after_the_frame_are_corrupt", test_bytes_after_the_frame_are_corrupt},
        {"flipped_byte_never_yields_wrong_data", test_flipped_byte_never_yields_wrong_data},
        {"gzip_stream_is_real_gzip", test_gzip_stream_is_real_gzip},
        {"zstd_stream_is_real_zstd", test_zstd_stream_is_real_zstd},
        {"lz4_stream_is_real_lz4_frame", test_lz4_stream_is_real_lz4_frame},
        {"failed_creation_leaves_next_with_the_caller",
         test_failed_creation_leaves_next_with_the_caller},
        {"compress_sink_refuses_use_after_finish", test_compress_sink_refuses_use_after_finish},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"compress", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
