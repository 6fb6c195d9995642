/*
 * Checking that the WAL a backup needs is there: for each WAL range of the
 * manifest, every segment from the one holding the start LSN to the one
 * holding the last byte before the end LSN, named on the range's timeline,
 * must be in pg_wal with the segment size. pg_verifybackup goes further and
 * has pg_waldump parse the records; this check only looks at names and sizes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "manifest/verify_dir.h"

#define DEFAULT_SEGMENT_SIZE (16u * 1024 * 1024)
#define WAL_NAME_LENGTH 24
/* xlog_internal.h: XLogLongPageHeaderData, native byte order. */
#define XLP_LONG_HEADER 0x0002
#define LONG_HEADER_SIZE 40
#define XLP_INFO_OFFSET 2
#define XLP_SEG_SIZE_OFFSET 32
/* More segments than any real backup needs (16 TiB of 16 MiB segments): a range that long is a bad manifest. */
#define MAX_SEGMENTS_PER_RANGE (UINT64_C(1) << 20)

static int is_segment_name(const char *name)
{
    if (strlen(name) != WAL_NAME_LENGTH)
        return 0;
    for (int i = 0; i < WAL_NAME_LENGTH; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F')))
            return 0;
    return 1;
}

/* Byte order, not the locale's collation. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* A power of two from 1 MiB to 1 GiB, as initdb --wal-segsize allows. */
static int valid_segment_size(uint32_t size)
{
    return size >= 1024u * 1024 && size <= 1024u * 1024 * 1024 && (size & (size - 1)) == 0;
}

/* The segment size in the long page header of a segment file; 0 when it has none. */
static uint32_t header_segment_size(const char *path)
{
    unsigned char header[LONG_HEADER_SIZE];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t got = read(fd, header, sizeof(header));
    close(fd);
    uint16_t info;
    uint32_t size;
    if (got != (ssize_t)sizeof(header))
        return 0;
    memcpy(&info, header + XLP_INFO_OFFSET, sizeof(info));
    memcpy(&size, header + XLP_SEG_SIZE_OFFSET, sizeof(size));
    return (info & XLP_LONG_HEADER) && valid_segment_size(size) ? size : 0;
}

/* From the first segment in pg_wal (by name) that has a readable long header; else 16 MiB. */
static uint32_t find_segment_size(const char *wal_dir)
{
    struct dirent **entries = NULL;
    int count = scandir(wal_dir, &entries, NULL, by_name);
    uint32_t size = 0;
    for (int i = 0; i < count; i++) {
        if (size == 0 && is_segment_name(entries[i]->d_name)) {
            char *path = pgb_text_printf("%s/%s", wal_dir, entries[i]->d_name);
            size = path ? header_segment_size(path) : 0;
            free(path);
        }
        free(entries[i]);
    }
    free(entries);
    return size ? size : DEFAULT_SEGMENT_SIZE;
}

static int check_segment(struct verify_state *state, const char *wal_dir, const char *name, uint32_t segment_size,
                         const struct pgb_manifest_wal_range *range)
{
    char relative[64], *absolute = pgb_text_printf("%s/%s", wal_dir, name);
    if (!absolute)
        return pgb_error_nomem(state->ctx);
    snprintf(relative, sizeof(relative), "pg_wal/%s", name);
    struct stat st;
    int found = stat(absolute, &st) == 0, error = errno;
    free(absolute);
    if (!found)
        return pgb_verify_add(state, PGB_FINDING_WAL_MISSING, relative,
                              "WAL segment \"%s\" needed for timeline %" PRIu32 " (%X/%X to %X/%X) is %s", relative,
                              range->timeline, (unsigned)(range->start_lsn >> 32), (unsigned)range->start_lsn,
                              (unsigned)(range->end_lsn >> 32), (unsigned)range->end_lsn,
                              error == ENOENT ? "missing" : strerror(error));
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != segment_size)
        return pgb_verify_add(state, PGB_FINDING_WAL_MISSING, relative,
                              "WAL segment \"%s\" has size %" PRIu64 ", expected %" PRIu32 " bytes", relative,
                              (uint64_t)st.st_size, segment_size);
    return PGB_OK;
}

int pgb_verify_wal(struct verify_state *state)
{
    size_t range_count = pgb_manifest_wal_range_count(state->manifest);
    if (range_count == 0)
        return PGB_OK;
    char *wal_dir = pgb_text_printf("%s/pg_wal", state->root);
    if (!wal_dir)
        return pgb_error_nomem(state->ctx);
    uint32_t segment_size = find_segment_size(wal_dir);
    uint64_t segments_per_id = UINT64_C(0x100000000) / segment_size;
    int rc = PGB_OK;
    for (size_t r = 0; rc == PGB_OK && r < range_count; r++) {
        const struct pgb_manifest_wal_range *range = pgb_manifest_wal_range_at(state->manifest, r);
        uint64_t first = range->start_lsn / segment_size;
        /* The segment holding the end position E is (E - 1) / size (pg_waldump reads up to E). */
        uint64_t last = range->end_lsn > range->start_lsn ? (range->end_lsn - 1) / segment_size : first;
        if (last - first >= MAX_SEGMENTS_PER_RANGE) {
            rc = pgb_verify_add(state, PGB_FINDING_MANIFEST, "backup_manifest",
                                "WAL range %zu of timeline %" PRIu32 " spans %" PRIu64 " segments; not checked", r + 1,
                                range->timeline, last - first + 1);
            continue;
        }
        for (uint64_t segment = first; rc == PGB_OK && segment <= last; segment++) {
            char name[WAL_NAME_LENGTH + 1];
            snprintf(name, sizeof(name), "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, range->timeline,
                     (uint32_t)(segment / segments_per_id), (uint32_t)(segment % segments_per_id));
            rc = check_segment(state, wal_dir, name, segment_size, range);
        }
    }
    free(wal_dir);
    return rc;
}
