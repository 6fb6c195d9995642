/*
 * Reading a file ahead on a thread of its own: the consumer gets exactly the
 * file's bytes, in order, whatever the file's size against the block size
 * (empty, less than a block, whole blocks, blocks and a bit); a read that
 * fails is reported with its errno after what came before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "core/read_ahead.h"
#include "test_data.h"
#include "test_main.h"

#define BLOCK ((size_t)64 * 1024)

static char path[64];

static int setup(void)
{
    snprintf(path, sizeof(path), "/tmp/pgb-read-ahead-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    return 0;
}

static int teardown(void)
{
    return unlink(path) != 0;
}

/* What the consumer saw: every byte appended, and how many calls. */
struct seen {
    uint8_t *bytes;
    size_t size, capacity;
    int calls;
};

static void keep(void *payload, const uint8_t *data, size_t size)
{
    struct seen *s = payload;
    if (s->size + size > s->capacity) {
        s->capacity = (s->size + size) * 2;
        s->bytes = realloc(s->bytes, s->capacity);
    }
    memcpy(s->bytes + s->size, data, size);
    s->size += size;
    s->calls++;
}

static void check_size(size_t size, int blocks)
{
    uint8_t *data = malloc(size ? size : 1);
    test_fill_random(data, size, 7 + size);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_EQUAL_FATAL(fwrite(data, 1, size, f), size);
    fclose(f);
    int fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    struct seen seen = {0};
    CU_ASSERT_EQUAL(pgb_read_ahead(fd, BLOCK, blocks, keep, &seen), 0);
    close(fd);
    CU_ASSERT_EQUAL(seen.size, size);
    CU_ASSERT(seen.size == size && (size == 0 || memcmp(seen.bytes, data, size) == 0));
    CU_ASSERT_EQUAL((size_t)seen.calls, (size + BLOCK - 1) / BLOCK); /* full blocks, then the rest */
    free(seen.bytes);
    free(data);
}

static void test_consumer_gets_the_file_in_order(void)
{
    size_t sizes[] = {0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 40 * BLOCK + 123};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        check_size(sizes[i], 2);
        check_size(sizes[i], 4);
    }
}

static void test_a_failing_read_returns_its_errno(void)
{
    int fd = open(path, O_WRONLY); /* reading it fails with EBADF */
    CU_ASSERT_FATAL(fd >= 0);
    struct seen seen = {0};
    CU_ASSERT_EQUAL(pgb_read_ahead(fd, BLOCK, 3, keep, &seen), EBADF);
    CU_ASSERT_EQUAL(seen.calls, 0);
    close(fd);
    free(seen.bytes);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"consumer_gets_the_file_in_order", test_consumer_gets_the_file_in_order},
        {"a_failing_read_returns_its_errno", test_a_failing_read_returns_its_errno},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"read_ahead", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
