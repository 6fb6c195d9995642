/*
 * Helpers of the WAL tests: fake segments as PostgreSQL 15 writes them, a
 * pg_wal-like folder with archive_status, and byte comparisons of files.
 */
#ifndef PGB_TEST_WAL_SEGMENTS_H
#define PGB_TEST_WAL_SEGMENTS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/CUnit.h>

#include "pg/lsn.h"

#define WAL_TEST_SEGMENT_SIZE (UINT64_C(1) << 20) /* the smallest initdb allows: keeps the tests quick */

/*
 * A segment of timeline at position segno, then bytes that depend on seed (two
 * seeds give the same name with different content). Free with free().
 */
static inline uint8_t *wal_test_segment(uint32_t timeline, uint64_t segno, unsigned seed, char name[PGB_WAL_NAME_SIZE])
{
    uint8_t *data = malloc(WAL_TEST_SEGMENT_SIZE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    uint32_t state = seed * 2654435761u + 1;
    for (uint64_t i = 0; i < WAL_TEST_SEGMENT_SIZE; i++) {
        state = state * 1103515245u + 12345u;
        data[i] = (uint8_t)(i % 3 ? state >> 16 : 0); /* compressible, not constant */
    }
    uint16_t magic = 0xD110, info = 0x0002;
    uint64_t pageaddr = pgb_wal_segment_start(segno, WAL_TEST_SEGMENT_SIZE), system_id = UINT64_C(7300000000000000001);
    uint32_t segment_size = (uint32_t)WAL_TEST_SEGMENT_SIZE, block_size = 8192;
    memcpy(data + 0, &magic, 2);
    memcpy(data + 2, &info, 2);
    memcpy(data + 4, &timeline, 4);
    memcpy(data + 8, &pageaddr, 8);
    memcpy(data + 24, &system_id, 8);
    memcpy(data + 32, &segment_size, 4);
    memcpy(data + 36, &block_size, 4);
    pgb_wal_segment_name(timeline, segno, WAL_TEST_SEGMENT_SIZE, name);
    return data;
}

static inline void wal_test_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, size, f), size);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* The whole file (free with free()), or NULL when it cannot be read. */
static inline uint8_t *wal_test_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* One byte more, always NUL: tests read markers as text. */
    uint8_t *data = malloc(length > 0 ? (size_t)length + 1 : 1);
    *size = fread(data, 1, length > 0 ? (size_t)length : 0, f);
    data[*size] = '\0';
    fclose(f);
    return data;
}

static inline int wal_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whether path holds exactly data. */
static inline int wal_test_holds(const char *path, const void *data, size_t size)
{
    size_t got = 0;
    uint8_t *content = wal_test_read(path, &got);
    int same = content && got == size && memcmp(content, data, size) == 0;
    free(content);
    return same;
}

/* pg_wal/<name> holding data, with pg_wal/archive_status/<name>.ready when ready; its path in path (512 bytes). */
static inline void wal_test_put(const char *pg_wal, const char *name, const void *data, size_t size, int ready,
                                char path[512])
{
    char status[512];
    mkdir(pg_wal, 0700);
    snprintf(status, sizeof(status), "%s/archive_status", pg_wal);
    mkdir(status, 0700);
    snprintf(path, 512, "%s/%s", pg_wal, name);
    wal_test_write(path, data, size);
    if (ready) {
        snprintf(status, sizeof(status), "%s/archive_status/%s.ready", pg_wal, name);
        wal_test_write(status, "", 0);
    }
}

#endif
