/*
 * Throughput and memory of the write pipeline: SHA-256 -> zstd:3 ->
 * AES-256-GCM -> storage, on semi-compressible text. Figures are compared, in
 * the same run, with what the reference tools reach on the same machine
 * (`zstd -b3`, `openssl speed -evp sha256` and `-evp aes-256-gcm`), so the ratios say how much the stages cost
 * beyond the algorithms themselves. Then the pipeline runs over a 10 MiB and a
 * 1 GiB stream in child processes, to show that peak memory does not grow
 * with the data.
 *
 * Build and run with bench/pipeline/run.sh. MB here is 10^6 bytes, as the
 * tools count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/checksum.h"
#include "pipeline/compress.h"
#include "pipeline/crypt_stream.h"
#include "pipeline/stream.h"

#include <openssl/rand.h>

#define MIB ((size_t)1024 * 1024)
#define DATA_SIZE (256 * MIB)
#define WRITE_SIZE (256 * (size_t)1024) /* what a file reader hands the pipeline */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(pgb_ctx *ctx, const char *what)
{
    fprintf(stderr, "pipeline_bench: %s: %s\n", what, ctx ? pgb_ctx_errmsg(ctx) : "failed");
    exit(1);
}

/* ---- semi-compressible data: random words from a vocabulary, like table text ---- */

struct text_generator {
    uint64_t state;
    char words[4096][12];
};

static uint64_t next_random(struct text_generator *g)
{
    g->state ^= g->state << 13;
    g->state ^= g->state >> 7;
    g->state ^= g->state << 17;
    return g->state;
}

static void generator_init(struct text_generator *g, uint64_t seed)
{
    g->state = seed;
    for (size_t i = 0; i < 4096; i++) {
        size_t len = 3 + next_random(g) % 8;
        for (size_t k = 0; k < len; k++)
            g->words[i][k] = (char)('a' + next_random(g) % 26);
        g->words[i][len] = '\0';
    }
}

/* Fill out with lines of words and numbers; zstd -3 makes about a third of it. */
static void generate(struct text_generator *g, uint8_t *out, size_t size)
{
    size_t used = 0;
    while (used < size) {
        char line[160];
        uint64_t r = next_random(g);
        int n =
            snprintf(line, sizeof(line), "%llu\t%s %s %s\t%s\n", (unsigned long long)(r % 1000000),
                     g->words[r >> 20 & 4095], g->words[r >> 32 & 4095], g->words[r >> 44 & 4095],
                     g->words[next_random(g) & 4095]);
        size_t take = (size_t)n < size - used ? (size_t)n : size - used;
        memcpy(out + used, line, take);
        used += take;
    }
}

/* ---- the end of the pipeline: counts what storage would receive ---- */

struct counting_sink {
    pgb_sink base;
    uint64_t bytes;
};

static int counting_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    (void)data;
    ((struct counting_sink *)sink)->bytes += size;
    return PGB_OK;
}

static int counting_finish(pgb_sink *sink)
{
    (void)sink;
    return PGB_OK;
}

static void counting_destroy(pgb_sink *sink)
{
    free(sink);
}

static const struct pgb_sink_ops counting_ops = {counting_write, counting_finish, counting_destroy};

static struct counting_sink *counting_sink_new(pgb_ctx *ctx)
{
    struct counting_sink *s = calloc(1, sizeof(*s));
    if (!s)
        die(ctx, "out of memory");
    s->base = (pgb_sink){&counting_ops, ctx, NULL};
    return s;
}

/*
 * The encrypt stage goes between compression and storage (the object body of
 * doc/repository-format.md). This build has no encryption stage, so the
 * stream goes straight to storage; when it exists, it is made here.
 */
/* AES-256-GCM in 64 KiB chunks under a random data key, as objects are sealed. */
static int insert_encrypt_stage(pgb_ctx *ctx, pgb_sink *storage, pgb_sink **out)
{
    uint8_t key[32], header[88] = {'P', 'G', 'B', 'O', 1, 1, 1, 0};
    RAND_bytes(key, sizeof(key));
    return pgb_encrypt_sink_new(ctx, key, header, sizeof(header), storage, out);
}

enum stages { STAGE_SHA256 = 1, STAGE_ZSTD = 2, STAGE_ENCRYPT = 4, STAGE_ALL = 7 };

/* Build the chain; *storage is its last stage, owned by the chain. */
static pgb_sink *pipeline_new(pgb_ctx *ctx, int stages, struct counting_sink **storage)
{
    *storage = counting_sink_new(ctx);
    pgb_sink *chain = &(*storage)->base, *stage = NULL;
    if (stages & STAGE_ENCRYPT) {
        if (insert_encrypt_stage(ctx, chain, &stage) != PGB_OK)
            die(ctx, "encrypt stage");
        chain = stage;
    }
    if (stages & STAGE_ZSTD) {
        if (pgb_compress_sink_new(ctx, PGB_CODEC_ZSTD, 3, chain, &stage) != PGB_OK)
            die(ctx, "zstd stage");
        chain = stage;
    }
    if (stages & STAGE_SHA256) {
        if (pgb_sha256_sink_new(ctx, chain, &stage) != PGB_OK)
            die(ctx, "sha256 stage");
        chain = stage;
    }
    return chain;
}

struct run_result {
    double seconds;
    uint64_t stored;
};

/* Push data through the chosen stages; best of rounds runs. */
static struct run_result run_memory(pgb_ctx *ctx, int stages, const uint8_t *data, size_t size,
                                    int rounds)
{
    struct run_result best = {1e30, 0};
    for (int round = 0; round < rounds; round++) {
        struct counting_sink *storage;
        pgb_sink *head = pipeline_new(ctx, stages, &storage);
        double start = now_seconds();
        for (size_t offset = 0; offset < size; offset += WRITE_SIZE)
            if (pgb_sink_write(head, data + offset,
                               size - offset < WRITE_SIZE ? size - offset : WRITE_SIZE) != PGB_OK)
                die(ctx, "write");
        if (pgb_sink_finish(head) != PGB_OK)
            die(ctx, "finish");
        double seconds = now_seconds() - start;
        if (seconds < best.seconds)
            best = (struct run_result){seconds, storage->bytes};
        pgb_sink_destroy(head);
    }
    return best;
}

static double mb_per_second(size_t bytes, double seconds)
{
    return (double)bytes / 1e6 / seconds;
}

/* ---- reference tools ---- */

static char *run_command(const char *command)
{
    FILE *pipe = popen(command, "r");
    if (!pipe)
        return NULL;
    size_t size = 0, capacity = 65536;
    char *text = malloc(capacity);
    size_t n;
    while (text && (n = fread(text + size, 1, capacity - size - 1, pipe)) > 0) {
        size += n;
        if (capacity - size < 2)
            text = realloc(text, capacity *= 2);
    }
    int status = pclose(pipe);
    if (!text || status != 0) {
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

/* `zstd -b3` on one thread: compression MB/s and ratio, from its last result line. */
static int zstd_tool_speed(const char *path, double *mb_s, double *ratio)
{
    char command[512];
    snprintf(command, sizeof(command), "zstd -b3 -T1 -i3 '%s' 2>&1", path);
    char *out = run_command(command);
    if (!out)
        return -1;
    int found = 0;
    for (char *line = strtok(out, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        const char *arrow = strstr(line, "->");
        unsigned long long compressed;
        double r, speed;
        if (arrow && (sscanf(arrow, "-> %llu (x%lf), %lf MB/s", &compressed, &r, &speed) == 3 ||
                      sscanf(arrow, "-> %llu (%lf), %lf MB/s", &compressed, &r, &speed) == 3)) {
            *mb_s = speed;
            *ratio = r;
            found = 1;
        }
    }
    free(out);
    return found ? 0 : -1;
}

/* `openssl speed -evp ALGORITHM` with 64 KiB blocks; it counts in 1000s of bytes. */
static int openssl_speed(const char *algorithm, const char *line_prefix, double *mb_s)
{
    char command[160];
    snprintf(command, sizeof(command), "openssl speed -evp %s -bytes 65536 -seconds 3 2>/dev/null", algorithm);
    char *out = run_command(command);
    if (!out)
        return -1;
    int found = 0;
    size_t prefix = strlen(line_prefix);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        double kilobytes;
        if (strncmp(line, line_prefix, prefix) == 0 && sscanf(line + prefix, " %lfk", &kilobytes) == 1) {
            *mb_s = kilobytes / 1000.0;
            found = 1;
        }
    }
    free(out);
    return found ? 0 : -1;
}

/* ---- memory: a stream generated on the fly, in a child process ---- */

static void stream_in_child(uint64_t total)
{
    pgb_ctx *ctx;
    if (pgb_ctx_new(&ctx) != PGB_OK)
        _exit(1);
    struct text_generator *g = malloc(sizeof(*g));
    uint8_t *chunk = malloc(WRITE_SIZE);
    if (!g || !chunk)
        _exit(1);
    generator_init(g, 7);
    struct counting_sink *storage;
    pgb_sink *head = pipeline_new(ctx, STAGE_ALL, &storage);
    double start = now_seconds();
    for (uint64_t done = 0; done < total; done += WRITE_SIZE) {
        size_t size = total - done < WRITE_SIZE ? (size_t)(total - done) : WRITE_SIZE;
        generate(g, chunk, size);
        if (pgb_sink_write(head, chunk, size) != PGB_OK)
            _exit(1);
    }
    if (pgb_sink_finish(head) != PGB_OK)
        _exit(1);
    double seconds = now_seconds() - start;
    printf("  %5llu MiB stream: %7.1f MB/s (generating the data included), stored %llu bytes\n",
           (unsigned long long)(total / MIB), mb_per_second(total, seconds),
           (unsigned long long)storage->bytes);
    fflush(stdout);
    pgb_sink_destroy(head);
    free(chunk);
    free(g);
    pgb_ctx_free(ctx);
    _exit(0);
}

/* Peak RSS in KiB of a child that streams total bytes. */
static long peak_rss_of_stream(uint64_t total)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        stream_in_child(total);
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return usage.ru_maxrss;
}

int main(void)
{
    pgb_ctx *ctx;
    if (pgb_ctx_new(&ctx) != PGB_OK)
        die(NULL, "cannot make a context");
    printf("pipeline: sha256 -> zstd:3 -> aes-256-gcm -> storage, writes of %zu "
           "KiB\n\n",
           WRITE_SIZE / 1024);

    /* First, while this process is still small: a forked child starts with the
       parent's resident pages, which would hide the child's own peak. */
    printf("peak memory of the pipeline, each run in a child process:\n");
    long small = peak_rss_of_stream(10 * MIB);
    long large = peak_rss_of_stream((uint64_t)1024 * MIB);
    if (small < 0 || large < 0)
        die(NULL, "child run failed");
    printf("  peak RSS: 10 MiB stream %.1f MiB, 1 GiB stream %.1f MiB (ratio %.2f)\n\n",
           (double)small / 1024, (double)large / 1024, (double)large / (double)small);

    uint8_t *data = malloc(DATA_SIZE);
    struct text_generator *g = malloc(sizeof(*g));
    if (!data || !g)
        die(NULL, "out of memory");
    generator_init(g, 42);
    generate(g, data, DATA_SIZE);
    free(g);

    struct run_result all = run_memory(ctx, STAGE_ALL, data, DATA_SIZE, 2);
    struct run_result sha = run_memory(ctx, STAGE_SHA256, data, DATA_SIZE, 2);
    struct run_result zstd = run_memory(ctx, STAGE_ZSTD, data, DATA_SIZE, 2);
    struct run_result aes = run_memory(ctx, STAGE_ENCRYPT, data, DATA_SIZE, 2);
    double all_mb = mb_per_second(DATA_SIZE, all.seconds);
    double sha_mb = mb_per_second(DATA_SIZE, sha.seconds);
    double zstd_mb = mb_per_second(DATA_SIZE, zstd.seconds);
    double aes_mb = mb_per_second(DATA_SIZE, aes.seconds);
    /* The encrypt stage sees only the compressed bytes in the full pipeline. */
    double compressed_share = (double)zstd.stored / (double)DATA_SIZE;
    /* Stages run one after the other on one thread: their times add up. */
    double serial_mb = 1.0 / (1.0 / sha_mb + 1.0 / zstd_mb + compressed_share / aes_mb);
    printf("256 MiB in memory, semi-compressible text (zstd:3 ratio %.2f):\n",
           (double)DATA_SIZE / (double)zstd.stored);
    printf("  sha256 + zstd:3 + aes-256-gcm pipeline %8.1f MB/s   (%.2f of the sum of its stages, %.1f MB/s)\n",
           all_mb, all_mb / serial_mb, serial_mb);
    printf("  sha256 stage alone        %8.1f MB/s\n", sha_mb);
    printf("  zstd:3 stage alone        %8.1f MB/s\n", zstd_mb);
    printf("  aes-256-gcm stage alone   %8.1f MB/s\n", aes_mb);

    char path[] = "/tmp/pgb-pipeline-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, data, DATA_SIZE) != (ssize_t)DATA_SIZE)
        die(NULL, "cannot write the data file for zstd -b");
    close(fd);
    free(data);

    double tool_zstd_mb = 0, tool_ratio = 0, tool_sha_mb = 0, tool_aes_mb = 0;
    printf("\nreference tools on the same data and machine:\n");
    if (zstd_tool_speed(path, &tool_zstd_mb, &tool_ratio) == 0)
        printf(
            "  zstd -b3 -T1              %8.1f MB/s   (ratio %.2f); zstd stage / zstd -b3 = %.2f\n",
            tool_zstd_mb, tool_ratio, zstd_mb / tool_zstd_mb);
    else
        printf("  zstd -b3: could not run or read its output\n");
    unlink(path);
    if (openssl_speed("sha256", "sha256", &tool_sha_mb) == 0)
        printf("  openssl speed sha256 64K  %8.1f MB/s;  sha256 stage / openssl = %.2f\n",
               tool_sha_mb, sha_mb / tool_sha_mb);
    else
        printf("  openssl speed sha256: could not run or read its output\n");
    if (openssl_speed("aes-256-gcm", "AES-256-GCM", &tool_aes_mb) == 0)
        printf("  openssl speed aes-256-gcm 64K %8.1f MB/s;  aes stage / openssl = %.2f\n",
               tool_aes_mb, aes_mb / tool_aes_mb);
    else
        printf("  openssl speed aes-256-gcm: could not run or read its output\n");
    if (tool_zstd_mb > 0 && tool_sha_mb > 0 && tool_aes_mb > 0) {
        double tools_serial = 1.0 / (1.0 / tool_sha_mb + 1.0 / tool_zstd_mb + compressed_share / tool_aes_mb);
        printf("  tools' sha256 + zstd -3 + aes-256-gcm in series %.1f MB/s; pipeline / that = %.2f\n",
               tools_serial, all_mb / tools_serial);
    }
    pgb_ctx_free(ctx);
    return 0;
}
