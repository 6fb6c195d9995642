/*
 * Runs a fuzz target without libFuzzer, so every build checks it: over each
 * seed file given, then over deterministic mutations of each seed (flipped
 * bytes, cuts, insertions), a bounded number of times. Crashes and sanitizer
 * reports fail the test; the target's return value is not an outcome.
 *   replay ITERATIONS SEED...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t state = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static uint8_t *read_seed(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(length > 0 ? (size_t)length : 1);
    *size = data ? fread(data, 1, (size_t)length, f) : 0;
    fclose(f);
    return data;
}

static void mutate_and_run(const uint8_t *seed, size_t size)
{
    uint8_t *copy = malloc(size + 16);
    memcpy(copy, seed, size);
    size_t length = size;
    switch (next_random() % 4) {
    case 0: /* flip a few bits */
        for (int i = 0; i < 4 && length; i++)
            copy[next_random() % length] ^= (uint8_t)(1u << (next_random() % 8));
        break;
    case 1: /* cut */
        length = length ? next_random() % length : 0;
        break;
    case 2: /* insert bytes */
        if (length) {
            size_t at = next_random() % length;
            memmove(copy + at + 8, copy + at, length - at);
            for (int i = 0; i < 8; i++)
                copy[at + i] = (uint8_t)next_random();
            length += 8;
        }
        break;
    default: /* overwrite a byte with an interesting value */
        if (length)
            copy[next_random() % length] = (uint8_t[]){0, 0xff, '"', '\\', '{', '/', '.', 0x80}[next_random() % 8];
        break;
    }
    LLVMFuzzerTestOneInput(copy, length);
    free(copy);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ITERATIONS SEED...\n", argv[0]);
        return 2;
    }
    long iterations = strtol(argv[1], NULL, 10);
    int seeds = 0;
    for (int i = 2; i < argc; i++) {
        size_t size = 0;
        uint8_t *seed = read_seed(argv[i], &size);
        if (!seed) {
            fprintf(stderr, "cannot read seed %s\n", argv[i]);
            return 1;
        }
        LLVMFuzzerTestOneInput(seed, size);
        for (long n = 0; n < iterations; n++)
            mutate_and_run(seed, size);
        free(seed);
        seeds++;
    }
    printf("replayed %d seeds with %ld mutations each: no crash\n", seeds, iterations);
    return 0;
}
