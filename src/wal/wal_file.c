/*
 * Names and content checks of archived WAL files, and their place in the
 * repository. The rules follow PostgreSQL's xlog_internal.h (IsXLogFileName,
 * IsTLHistoryFileName, IsBackupHistoryFileName, IsPartialXLogFileName) and
 * the long page header of XLogLongPageHeaderData.
 */
#include "wal/wal_file.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pg/lsn.h"
#include "storage/storage.h"

/* xlog_internal.h: the XLOG_PAGE_MAGIC of each major version this library knows. */
static const struct {
    uint16_t magic;
    int major;
} known_magics[] = {{0xD106, 13}, {0xD10D, 14}, {0xD110, 15}, {0xD113, 16}, {0xD116, 17}};

/* XLogPageHeaderData / XLogLongPageHeaderData offsets, native byte order. */
#define XLP_MAGIC_OFFSET 0
#define XLP_INFO_OFFSET 2
#define XLP_PAGEADDR_OFFSET 8
#define XLP_SEG_SIZE_OFFSET 32
#define XLP_LONG_HEADER 0x0002

enum { SEGMENT_NAME_LENGTH = 24, TIMELINE_LENGTH = 8 };

static int is_upper_hex(const char *text, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'A' && text[i] <= 'F')))
            return 0;
    return 1;
}

static uint32_t timeline_of(const char *name)
{
    uint32_t timeline = 0;
    for (int i = 0; i < TIMELINE_LENGTH; i++)
        timeline = timeline << 4 | (uint32_t)(name[i] <= '9' ? name[i] - '0' : name[i] - 'A' + 10);
    return timeline;
}

const char *pgb_wal_file_kind_name(int kind)
{
    switch (kind) {
    case PGB_WAL_FILE_SEGMENT:
        return "segment";
    case PGB_WAL_FILE_HISTORY:
        return "timeline history file";
    case PGB_WAL_FILE_BACKUP_HISTORY:
        return "backup history file";
    case PGB_WAL_FILE_PARTIAL:
        return "partial segment";
    default:
        return "unknown";
    }
}

int pgb_wal_file_classify(pgb_ctx *ctx, const char *what, const char *name, int *kind, uint32_t *timeline)
{
    if (!what)
        what = name;
    size_t length = strlen(name);
    int found = 0;
    if (length > PGB_WAL_FILE_NAME_MAX)
        return pgb_error_set(ctx, PGB_EINVALID, "%s is not a WAL file: its name is longer than %d characters",
                             what, PGB_WAL_FILE_NAME_MAX);
    if (length == SEGMENT_NAME_LENGTH && is_upper_hex(name, length))
        found = PGB_WAL_FILE_SEGMENT;
    else if (length == TIMELINE_LENGTH + strlen(".history") && is_upper_hex(name, TIMELINE_LENGTH) &&
             strcmp(name + TIMELINE_LENGTH, ".history") == 0)
        found = PGB_WAL_FILE_HISTORY;
    else if (length == SEGMENT_NAME_LENGTH + strlen(".partial") && is_upper_hex(name, SEGMENT_NAME_LENGTH) &&
             strcmp(name + SEGMENT_NAME_LENGTH, ".partial") == 0)
        found = PGB_WAL_FILE_PARTIAL;
    else if (length == SEGMENT_NAME_LENGTH + 1 + 8 + strlen(".backup") && is_upper_hex(name, SEGMENT_NAME_LENGTH) &&
             name[SEGMENT_NAME_LENGTH] == '.' && is_upper_hex(name + SEGMENT_NAME_LENGTH + 1, 8) &&
             strcmp(name + SEGMENT_NAME_LENGTH + 9, ".backup") == 0)
        found = PGB_WAL_FILE_BACKUP_HISTORY;
    if (!found)
        return pgb_error_set(ctx, PGB_EINVALID, "%s is not a WAL file: its name is neither a segment (24 upper-case "
                             "hex digits), a timeline history (TTTTTTTT.history), a backup history "
                             "(<segment>.XXXXXXXX.backup) nor a partial segment (<segment>.partial)", what);
    uint32_t tli = timeline_of(name);
    if (tli == 0)
        return pgb_error_set(ctx, PGB_EINVALID, "%s is not a WAL file: timeline 0 does not exist", what);
    *kind = found;
    if (timeline)
        *timeline = tli;
    return PGB_OK;
}

static int all_zero(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (data[i])
            return 0;
    return 1;
}

int pgb_wal_segment_check(pgb_ctx *ctx, const char *what, const char *name, const uint8_t *header,
                          size_t header_size, uint64_t file_size)
{
    int partial = strlen(name) > SEGMENT_NAME_LENGTH;
    char segment_name[SEGMENT_NAME_LENGTH + 1];
    snprintf(segment_name, sizeof(segment_name), "%.*s", SEGMENT_NAME_LENGTH, name);
    if (header_size < PGB_WAL_LONG_HEADER_SIZE || file_size < PGB_WAL_LONG_HEADER_SIZE)
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not a WAL segment: it is %" PRIu64 " bytes long, too short "
                             "for a page header", what, file_size);
    if (partial && all_zero(header, PGB_WAL_LONG_HEADER_SIZE)) {
        if (pgb_wal_segment_size_valid(file_size))
            return PGB_OK; /* pg_receivewal's zero-filled file before its first byte */
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not a WAL segment: its size, %" PRIu64 " bytes, is not a "
                             "WAL segment size", what, file_size);
    }
    uint16_t magic, info;
    uint32_t segment_size;
    uint64_t pageaddr;
    memcpy(&magic, header + XLP_MAGIC_OFFSET, sizeof(magic));
    memcpy(&info, header + XLP_INFO_OFFSET, sizeof(info));
    memcpy(&pageaddr, header + XLP_PAGEADDR_OFFSET, sizeof(pageaddr));
    memcpy(&segment_size, header + XLP_SEG_SIZE_OFFSET, sizeof(segment_size));
    int major = 0;
    for (size_t i = 0; i < sizeof(known_magics) / sizeof(known_magics[0]); i++)
        if (known_magics[i].magic == magic)
            major = known_magics[i].major;
    if (!major)
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not a WAL segment: its page magic 0x%04X is not that of "
                             "PostgreSQL 13 to 17 (0xD106 to 0xD116)", what, (unsigned)magic);
    if (!(info & XLP_LONG_HEADER))
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not a WAL segment: its first page has no long header "
                             "(xlp_info 0x%04X)", what, (unsigned)info);
    if (!pgb_wal_segment_size_valid(segment_size))
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not a WAL segment: its header gives a segment size of "
                             "%" PRIu32 " bytes, not a power of two from 1 MiB to 1 GiB", what, segment_size);
    if (file_size != segment_size)
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not a complete WAL segment: it is %" PRIu64 " bytes long, "
                             "but its header gives a segment size of %" PRIu32 " bytes", what, file_size,
                             segment_size);
    uint64_t segno = 0;
    if (pgb_wal_segment_name_parse(NULL, segment_name, segment_size, NULL, &segno) != PGB_OK)
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not a WAL segment: its name cannot be a segment of %" PRIu32
                             " bytes (the last 8 digits are too large)", what, segment_size);
    uint64_t expected = pgb_wal_segment_start(segno, segment_size);
    if (pageaddr != expected) {
        char have[PGB_LSN_TEXT_SIZE], want[PGB_LSN_TEXT_SIZE];
        return pgb_error_set(ctx, PGB_ECORRUPT, "%s is not the WAL segment its name says: its first page is at "
                             "%s (xlp_pageaddr), but segment %s begins at %s", what,
                             pgb_lsn_format(pageaddr, have), segment_name, pgb_lsn_format(expected, want));
    }
    return PGB_OK;
}

void pgb_wal_archive_key(const struct pgb_repo *repo, const char *name, uint32_t timeline, char out[PGB_KEY_SIZE])
{
    char suffix[PGB_WAL_FILE_NAME_MAX + 32];
    snprintf(suffix, sizeof(suffix), "wal/%08" PRIX32 "/%s", timeline, name);
    pgb_repo_cluster_key(repo, suffix, out);
}

void pgb_wal_sum_key(const char *key, char out[PGB_KEY_SIZE])
{
    snprintf(out, PGB_KEY_SIZE, "%s.sum", key);
}

int pgb_wal_check_cluster(struct pgb_repo *repo)
{
    char key[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "cluster", key);
    int rc = pgb_storage_stat(repo->storage, key, NULL);
    if (rc == PGB_ENOTFOUND)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "repository %s has no cluster '%s': check the cluster option, "
                             "or create it with pgbackup repo-init --cluster %s", pgb_storage_name(repo->storage),
                             repo->cluster, repo->cluster);
    return rc;
}
