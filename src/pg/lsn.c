#include "pg/lsn.h"

#include <stdio.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read 1 to max_digits hex digits; returns how many were read (0 means none, or too many). */
static size_t read_hex(const char *s, size_t max_digits, uint64_t *out)
{
    uint64_t value = 0;
    size_t n = 0;
    for (; hex_value(s[n]) >= 0; n++) {
        if (n == max_digits)
            return 0;
        value = value << 4 | (uint64_t)hex_value(s[n]);
    }
    *out = value;
    return n;
}

static int invalid(pgb_ctx *ctx, const char *what, const char *text)
{
    if (ctx)
        pgb_error_set(ctx, PGB_EINVALID, "invalid %s: \"%.64s\"", what, text ? text : "(null)");
    return PGB_EINVALID;
}

int pgb_lsn_parse(pgb_ctx *ctx, const char *text, uint64_t *out)
{
    uint64_t high, low;
    if (!text)
        return invalid(ctx, "LSN", text);
    size_t n = read_hex(text, 8, &high);
    if (n == 0 || text[n] != '/')
        return invalid(ctx, "LSN", text);
    const char *rest = text + n + 1;
    size_t m = read_hex(rest, 8, &low);
    if (m == 0 || rest[m] != '\0')
        return invalid(ctx, "LSN", text);
    *out = high << 32 | low;
    return PGB_OK;
}

char *pgb_lsn_format(uint64_t lsn, char out[PGB_LSN_TEXT_SIZE])
{
    snprintf(out, PGB_LSN_TEXT_SIZE, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xFFFFFFFFu));
    return out;
}

int pgb_wal_segment_size_valid(uint64_t size)
{
    return size >= PGB_WAL_SEGMENT_SIZE_MIN && size <= PGB_WAL_SEGMENT_SIZE_MAX && (size & (size - 1)) == 0;
}

int pgb_wal_segment_size_parse(pgb_ctx *ctx, const char *text, uint64_t *out)
{
    if (!text)
        return invalid(ctx, "WAL segment size", text);
    uint64_t value = 0;
    size_t n = 0;
    for (; text[n] >= '0' && text[n] <= '9'; n++) {
        if (n == 12)
            return invalid(ctx, "WAL segment size", text);
        value = value * 10 + (uint64_t)(text[n] - '0');
    }
    if (n == 0)
        return invalid(ctx, "WAL segment size", text);
    /* GUC memory units are powers of 1024 (guc.c's memory_unit_conversion_table). */
    const char *unit = text + n;
    if (strcmp(unit, "kB") == 0)
        value <<= 10;
    else if (strcmp(unit, "MB") == 0)
        value <<= 20;
    else if (strcmp(unit, "GB") == 0)
        value <<= 30;
    else if (strcmp(unit, "") != 0 && strcmp(unit, "B") != 0)
        return invalid(ctx, "WAL segment size", text);
    if (!pgb_wal_segment_size_valid(value))
        return invalid(ctx, "WAL segment size (a power of two from 1MB to 1GB)", text);
    *out = value;
    return PGB_OK;
}

uint64_t pgb_wal_segment_number(uint64_t lsn, uint64_t segment_size)
{
    return lsn / segment_size;
}

uint64_t pgb_wal_segment_start(uint64_t segno, uint64_t segment_size)
{
    return segno * segment_size;
}

uint64_t pgb_wal_segment_of_end(uint64_t end, uint64_t segment_size)
{
    return (end - 1) / segment_size;
}

/* Segments per 4 GiB "log" file: XLogSegmentsPerXLogId. */
static uint64_t segments_per_id(uint64_t segment_size)
{
    return UINT64_C(0x100000000) / segment_size;
}

char *pgb_wal_segment_name(uint32_t timeline, uint64_t segno, uint64_t segment_size,
                           char out[PGB_WAL_NAME_SIZE])
{
    uint64_t per_id = segments_per_id(segment_size);
    snprintf(out, PGB_WAL_NAME_SIZE, "%08X%08X%08X", (unsigned)timeline, (unsigned)(segno / per_id),
             (unsigned)(segno % per_id));
    return out;
}

int pgb_wal_segment_name_parse(pgb_ctx *ctx, const char *name, uint64_t segment_size, uint32_t *timeline,
                               uint64_t *segno)
{
    if (!name || strlen(name) != 24 || !pgb_wal_segment_size_valid(segment_size))
        return invalid(ctx, "WAL segment name", name);
    uint64_t parts[3];
    for (int i = 0; i < 3; i++) {
        const char *p = name + 8 * i;
        uint64_t v = 0;
        for (int j = 0; j < 8; j++) {
            /* The server writes upper case only; "0000000a..." is not one of its files. */
            if (!((p[j] >= '0' && p[j] <= '9') || (p[j] >= 'A' && p[j] <= 'F')))
                return invalid(ctx, "WAL segment name", name);
            v = v << 4 | (uint64_t)hex_value(p[j]);
        }
        parts[i] = v;
    }
    uint64_t per_id = segments_per_id(segment_size);
    if (parts[0] == 0 || parts[2] >= per_id)
        return invalid(ctx, "WAL segment name", name);
    if (timeline)
        *timeline = (uint32_t)parts[0];
    if (segno)
        *segno = parts[1] * per_id + parts[2];
    return PGB_OK;
}
