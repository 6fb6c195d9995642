/*
 * Writing a backup_manifest exactly as the server does in
 * src/backend/backup/backup_manifest.c: the same keys, order, spacing and
 * line breaks, because the Manifest-Checksum covers those bytes and
 * pg_verifybackup hashes the raw file.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "manifest/manifest.h"
#include "manifest/utf8.h"

enum writer_state { WRITING_FILES, WRITING_WAL_RANGES, FINISHED };

struct pgb_manifest_writer {
    pgb_ctx *ctx;
    enum writer_state state;
    size_t file_count, wal_range_count;
    char *text;
    size_t used, capacity;
    int out_of_memory; /* set by a failed append; reported once by the caller */
};

static void append(struct pgb_manifest_writer *writer, const char *data, size_t size)
{
    if (writer->out_of_memory)
        return;
    if (writer->used + size + 1 > writer->capacity) {
        size_t capacity = writer->capacity ? writer->capacity : 4096;
        while (writer->used + size + 1 > capacity)
            capacity *= 2;
        char *grown = realloc(writer->text, capacity);
        if (!grown) {
            writer->out_of_memory = 1;
            return;
        }
        writer->text = grown;
        writer->capacity = capacity;
    }
    memcpy(writer->text + writer->used, data, size);
    writer->used += size;
    writer->text[writer->used] = '\0';
}

static void append_text(struct pgb_manifest_writer *writer, const char *text)
{
    append(writer, text, strlen(text));
}

__attribute__((format(printf, 2, 3))) static void append_printf(struct pgb_manifest_writer *writer,
                                                                const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(line))
        append(writer, line, (size_t)n);
    else
        writer->out_of_memory = 1; /* never with the short formats of this file */
}

/* escape_json() of PostgreSQL (src/backend/utils/adt/json.c): "/" and non-ASCII stay as they are. */
static void append_json_string(struct pgb_manifest_writer *writer, const char *s)
{
    append_text(writer, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\b':
            append_text(writer, "\\b");
            break;
        case '\f':
            append_text(writer, "\\f");
            break;
        case '\n':
            append_text(writer, "\\n");
            break;
        case '\r':
            append_text(writer, "\\r");
            break;
        case '\t':
            append_text(writer, "\\t");
            break;
        case '"':
            append_text(writer, "\\\"");
            break;
        case '\\':
            append_text(writer, "\\\\");
            break;
        default:
            if (*p < ' ')
                append_printf(writer, "\\u%04x", (unsigned)*p);
            else
                append(writer, (const char *)p, 1);
        }
    }
    append_text(writer, "\"");
}

static void append_hex(struct pgb_manifest_writer *writer, const uint8_t *data, size_t size)
{
    char pair[3];
    for (size_t i = 0; i < size; i++) {
        pgb_hex_encode(data + i, 1, pair);
        append(writer, pair, 2);
    }
}

static int writer_status(struct pgb_manifest_writer *writer)
{
    return writer->out_of_memory ? pgb_error_nomem(writer->ctx) : PGB_OK;
}

int pgb_manifest_writer_new(pgb_ctx *ctx, int version, uint64_t system_identifier,
                            struct pgb_manifest_writer **out)
{
    *out = NULL;
    if (version != 1 && version != 2)
        return pgb_error_set(ctx, PGB_EINVALID, "backup manifest version %d is not 1 or 2", version);
    struct pgb_manifest_writer *writer = calloc(1, sizeof(*writer));
    if (!writer)
        return pgb_error_nomem(ctx);
    writer->ctx = ctx;
    append_printf(writer, "{ \"PostgreSQL-Backup-Manifest-Version\": %d,\n", version);
    if (version == 2)
        append_printf(writer, "\"System-Identifier\": %" PRIu64 ",\n", system_identifier);
    append_text(writer, "\"Files\": [");
    int rc = writer_status(writer);
    if (rc != PGB_OK) {
        pgb_manifest_writer_free(writer);
        return rc;
    }
    *out = writer;
    return PGB_OK;
}

int pgb_manifest_writer_add_file(struct pgb_manifest_writer *writer, const char *path, uint64_t size,
                                 time_t mtime, enum pgb_checksum_type type, const uint8_t *checksum)
{
    pgb_ctx *ctx = writer->ctx;
    if (writer->state != WRITING_FILES)
        return pgb_error_set(ctx, PGB_EINVALID, "backup manifest: files must come before WAL ranges");
    if (!path || !pgb_manifest_path_is_safe(path))
        return pgb_error_set(ctx, PGB_EINVALID, "backup manifest: unsafe path name \"%.200s\"",
                             path ? path : "(null)");
    const char *type_name = pgb_checksum_type_name(type);
    size_t checksum_size = pgb_checksum_type_size(type);
    if (!type_name || (checksum_size > 0 && !checksum))
        return pgb_error_set(ctx, PGB_EINVALID, "backup manifest: file \"%.200s\" has no valid checksum", path);
    struct tm tm;
    char when[64];
    if (!gmtime_r(&mtime, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S GMT", &tm) == 0)
        return pgb_error_set(ctx, PGB_EINVALID, "backup manifest: file \"%.200s\" has an impossible mtime", path);

    /* Each entry ends the line before it, so the last one needs no comma (as the server does). */
    append_text(writer, writer->file_count == 0 ? "\n" : ",\n");
    size_t length = strlen(path);
    if (pgb_utf8_is_valid(path, length)) {
        append_text(writer, "{ \"Path\": ");
        append_json_string(writer, path);
        append_text(writer, ", ");
    } else {
        append_text(writer, "{ \"Encoded-Path\": \"");
        append_hex(writer, (const uint8_t *)path, length);
        append_text(writer, "\", ");
    }
    append_printf(writer, "\"Size\": %" PRIu64 ", ", size);
    append_printf(writer, "\"Last-Modified\": \"%s\"", when);
    if (type != PGB_CHECKSUM_NONE) {
        append_printf(writer, ", \"Checksum-Algorithm\": \"%s\", \"Checksum\": \"", type_name);
        append_hex(writer, checksum, checksum_size);
        append_text(writer, "\"");
    }
    append_text(writer, " }");
    writer->file_count++;
    return writer_status(writer);
}

static void end_files(struct pgb_manifest_writer *writer)
{
    append_text(writer, "\n],\n\"WAL-Ranges\": [\n");
    writer->state = WRITING_WAL_RANGES;
}

int pgb_manifest_writer_add_wal_range(struct pgb_manifest_writer *writer, uint32_t timeline,
                                      uint64_t start_lsn, uint64_t end_lsn)
{
    if (writer->state == FINISHED)
        return pgb_error_set(writer->ctx, PGB_EINVALID, "backup manifest: already finished");
    if (timeline == 0 || end_lsn < start_lsn)
        return pgb_error_set(writer->ctx, PGB_EINVALID,
                             "backup manifest: invalid WAL range on timeline %" PRIu32, timeline);
    if (writer->state == WRITING_FILES)
        end_files(writer);
    append_printf(writer,
                  "%s{ \"Timeline\": %" PRIu32 ", \"Start-LSN\": \"%X/%X\", \"End-LSN\": \"%X/%X\" }",
                  writer->wal_range_count == 0 ? "" : ",\n", timeline, (unsigned)(start_lsn >> 32),
                  (unsigned)start_lsn, (unsigned)(end_lsn >> 32), (unsigned)end_lsn);
    writer->wal_range_count++;
    return writer_status(writer);
}

int pgb_manifest_writer_finish(struct pgb_manifest_writer *writer, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (writer->state == FINISHED)
        return pgb_error_set(writer->ctx, PGB_EINVALID, "backup manifest: already finished");
    if (writer->state == WRITING_FILES)
        end_files(writer);
    append_text(writer, "\n],\n");
    writer->state = FINISHED;
    int rc = writer_status(writer);
    if (rc != PGB_OK)
        return rc;

    /* The checksum covers everything up to here: the line before "Manifest-Checksum". */
    struct pgb_checksum sha;
    uint8_t digest[PGB_CHECKSUM_MAX_SIZE];
    size_t digest_size = 0;
    if (pgb_checksum_init(&sha, PGB_CHECKSUM_SHA256) != PGB_OK)
        return pgb_error_nomem(writer->ctx);
    if (pgb_checksum_update(&sha, writer->text, writer->used) != PGB_OK ||
        pgb_checksum_final(&sha, digest, &digest_size) != PGB_OK) {
        pgb_checksum_cleanup(&sha);
        return pgb_error_set(writer->ctx, PGB_ERROR, "backup manifest: cannot compute its SHA-256");
    }
    append_text(writer, "\"Manifest-Checksum\": \"");
    append_hex(writer, digest, digest_size);
    append_text(writer, "\"}\n");
    rc = writer_status(writer);
    if (rc != PGB_OK)
        return rc;
    *data = writer->text;
    *size = writer->used;
    writer->text = NULL;
    writer->used = writer->capacity = 0;
    return PGB_OK;
}

void pgb_manifest_writer_free(struct pgb_manifest_writer *writer)
{
    if (!writer)
        return;
    free(writer->text);
    free(writer);
}
