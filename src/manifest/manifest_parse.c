/*
 * Reading a backup_manifest with the rules of PostgreSQL's parse_manifest.c:
 * the version key first, known keys only, Manifest-Checksum last and equal to
 * the SHA-256 of everything before the last line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/text.h"
#include "manifest/manifest_layout.h"

#define SHA256_SIZE 32

/* Everything that fails below is damage of the manifest, and names it. */
#define CORRUPT(...) pgb_error_set(parse->ctx, PGB_ECORRUPT, __VA_ARGS__)

struct parse_state {
    pgb_ctx *ctx;
    const char *name;
    struct pgb_manifest *manifest;
};

static int corrupt_named(struct parse_state *parse, int rc)
{
    if (rc == PGB_ECORRUPT)
        pgb_error_prefix(parse->ctx, "backup manifest %s", parse->name);
    return rc;
}

/*
 * The number of bytes the Manifest-Checksum covers: up to and including the
 * newline before the last line (verify_manifest_checksum() in PostgreSQL).
 */
static int checksummed_length(struct parse_state *parse, const char *data, size_t size, size_t *covered)
{
    size_t newlines = 0, last = 0, before_last = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n') {
            newlines++;
            before_last = last;
            last = i;
        }
    }
    if (newlines < 2)
        return CORRUPT("expected at least 2 lines");
    if (last != size - 1)
        return CORRUPT("last line not newline-terminated");
    *covered = before_last + 1;
    return PGB_OK;
}

static int check_manifest_checksum(struct parse_state *parse, const char *data, size_t covered,
                                   json_t *value)
{
    const char *expected_hex = json_string_value(value);
    uint8_t expected[SHA256_SIZE], actual[PGB_CHECKSUM_MAX_SIZE];
    if (!expected_hex || strlen(expected_hex) != 2 * SHA256_SIZE ||
        pgb_hex_decode(parse->ctx, expected_hex, expected, SHA256_SIZE) != PGB_OK)
        return CORRUPT("invalid manifest checksum: \"%.80s\"", expected_hex ? expected_hex : "(not a string)");
    struct pgb_checksum sha;
    size_t size = 0;
    if (pgb_checksum_init(&sha, PGB_CHECKSUM_SHA256) != PGB_OK)
        return pgb_error_nomem(parse->ctx);
    if (pgb_checksum_update(&sha, data, covered) != PGB_OK ||
        pgb_checksum_final(&sha, actual, &size) != PGB_OK) {
        pgb_checksum_cleanup(&sha);
        return pgb_error_set(parse->ctx, PGB_ERROR, "cannot compute SHA-256 of backup manifest %s", parse->name);
    }
    if (memcmp(expected, actual, SHA256_SIZE) != 0) {
        char actual_hex[2 * SHA256_SIZE + 1];
        pgb_hex_encode(actual, SHA256_SIZE, actual_hex);
        return CORRUPT("manifest checksum mismatch: it says %s, its content gives %s", expected_hex,
                       actual_hex);
    }
    return PGB_OK;
}

static int decode_encoded_path(struct parse_state *parse, size_t number, const char *hex, char **path)
{
    size_t length = strlen(hex);
    if (length == 0 || length % 2 != 0)
        return CORRUPT("file %zu: could not decode file name \"%.80s\"", number, hex);
    char *raw = malloc(length / 2 + 1);
    if (!raw)
        return pgb_error_nomem(parse->ctx);
    if (pgb_hex_decode(parse->ctx, hex, (uint8_t *)raw, length / 2) != PGB_OK ||
        memchr(raw, '\0', length / 2) != NULL) {
        free(raw);
        return CORRUPT("file %zu: could not decode file name \"%.80s\"", number, hex);
    }
    raw[length / 2] = '\0';
    *path = raw;
    return PGB_OK;
}

/* "YYYY-MM-DD HH:MM:SS GMT"; readers ignore it, so anything else gives -1 rather than an error. */
static time_t parse_last_modified(const char *text)
{
    struct tm tm = {0};
    char zone[4] = "";
    int consumed = 0;
    if (!text || sscanf(text, "%4d-%2d-%2d %2d:%2d:%2d %3s%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone, &consumed) != 7 ||
        text[consumed] != '\0' || strcmp(zone, "GMT") != 0)
        return (time_t)-1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static int parse_checksum(struct parse_state *parse, struct pgb_manifest_file *file, json_t *algorithm,
                          json_t *checksum)
{
    file->checksum_type = PGB_CHECKSUM_NONE;
    file->checksum_size = 0;
    if (!algorithm) {
        if (checksum)
            return CORRUPT("file \"%s\": checksum without algorithm", file->path);
        return PGB_OK;
    }
    const char *name = json_string_value(algorithm);
    if (!name || pgb_checksum_type_from_name(name, &file->checksum_type) != 0)
        return CORRUPT("file \"%s\": unrecognized checksum algorithm \"%.40s\"", file->path,
                       name ? name : "(not a string)");
    size_t size = pgb_checksum_type_size(file->checksum_type);
    const char *hex = json_string_value(checksum);
    if (size == 0 && (!hex || hex[0] == '\0'))
        return PGB_OK;
    if (!hex || strlen(hex) != 2 * size || pgb_hex_decode(parse->ctx, hex, file->checksum, size) != PGB_OK)
        return CORRUPT("file \"%s\": invalid %s checksum \"%.140s\" (expected %zu hex digits)", file->path,
                       name, hex ? hex : "(missing)", 2 * size);
    file->checksum_size = size;
    return PGB_OK;
}

static int parse_file(struct parse_state *parse, size_t number, json_t *entry, struct pgb_manifest_file *file)
{
    if (!json_is_object(entry))
        return CORRUPT("file %zu is not a JSON object", number);
    static const char *const known[] = {"Path", "Encoded-Path", "Size", "Last-Modified", "Checksum-Algorithm",
                                        "Checksum"};
    const char *key;
    json_t *value;
    json_object_foreach(entry, key, value) {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) && strcmp(key, known[k]) != 0)
            k++;
        if (k == sizeof(known) / sizeof(known[0]))
            return CORRUPT("file %zu: unexpected file field \"%.40s\"", number, key);
    }
    json_t *path = json_object_get(entry, "Path"), *encoded = json_object_get(entry, "Encoded-Path");
    if (!path && !encoded)
        return CORRUPT("file %zu: missing path name", number);
    if (path && encoded)
        return CORRUPT("file %zu: both path name and encoded path name", number);
    if (path && !json_is_string(path))
        return CORRUPT("file %zu: Path is not a string", number);
    if (encoded && !json_is_string(encoded))
        return CORRUPT("file %zu: Encoded-Path is not a string", number);
    int rc;
    if (path) {
        if (!(file->path = pgb_text_dup(json_string_value(path))))
            return pgb_error_nomem(parse->ctx);
    } else if ((rc = decode_encoded_path(parse, number, json_string_value(encoded), &file->path)) != PGB_OK) {
        return rc;
    }
    if (!pgb_manifest_path_is_safe(file->path))
        return CORRUPT("file %zu: unsafe path name \"%.200s\"", number, file->path);
    json_t *size = json_object_get(entry, "Size");
    if (!size)
        return CORRUPT("file \"%s\": missing size", file->path);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return CORRUPT("file \"%s\": file size is not an integer", file->path);
    file->size = (uint64_t)json_integer_value(size);
    file->mtime = parse_last_modified(json_string_value(json_object_get(entry, "Last-Modified")));
    return parse_checksum(parse, file, json_object_get(entry, "Checksum-Algorithm"),
                          json_object_get(entry, "Checksum"));
}

static int parse_files(struct parse_state *parse, json_t *files)
{
    if (!json_is_array(files))
        return CORRUPT("\"Files\" is not an array");
    struct pgb_manifest *manifest = parse->manifest;
    size_t count = json_array_size(files);
    if (count > 0 && !(manifest->files = calloc(count, sizeof(*manifest->files))))
        return pgb_error_nomem(parse->ctx);
    for (size_t i = 0; i < count; i++) {
        /* Counted first, so that pgb_manifest_free() frees a path set before a failure. */
        manifest->file_count = i + 1;
        int rc = parse_file(parse, i + 1, json_array_get(files, i), &manifest->files[i]);
        if (rc != PGB_OK)
            return rc;
    }
    return PGB_OK;
}

static int parse_lsn_field(struct parse_state *parse, size_t number, json_t *range, const char *key,
                           uint64_t *lsn)
{
    json_t *value = json_object_get(range, key);
    if (!value)
        return CORRUPT("WAL range %zu: missing %s", number, key);
    if (!json_is_string(value) || pgb_manifest_parse_lsn(json_string_value(value), lsn) != 0)
        return CORRUPT("WAL range %zu: could not parse %s", number, key);
    return PGB_OK;
}

static int parse_wal_range(struct parse_state *parse, size_t number, json_t *entry,
                           struct pgb_manifest_wal_range *range)
{
    if (!json_is_object(entry))
        return CORRUPT("WAL range %zu is not a JSON object", number);
    const char *key;
    json_t *value;
    json_object_foreach(entry, key, value) {
        if (strcmp(key, "Timeline") != 0 && strcmp(key, "Start-LSN") != 0 && strcmp(key, "End-LSN") != 0)
            return CORRUPT("WAL range %zu: unexpected WAL range field \"%.40s\"", number, key);
    }
    json_t *timeline = json_object_get(entry, "Timeline");
    if (!timeline)
        return CORRUPT("WAL range %zu: missing timeline", number);
    if (!json_is_integer(timeline) || json_integer_value(timeline) < 1 ||
        json_integer_value(timeline) > UINT32_MAX)
        return CORRUPT("WAL range %zu: timeline is not an integer", number);
    range->timeline = (uint32_t)json_integer_value(timeline);
    int rc = parse_lsn_field(parse, number, entry, "Start-LSN", &range->start_lsn);
    if (rc == PGB_OK)
        rc = parse_lsn_field(parse, number, entry, "End-LSN", &range->end_lsn);
    if (rc == PGB_OK && range->end_lsn < range->start_lsn)
        rc = CORRUPT("WAL range %zu: end LSN before start LSN", number);
    return rc;
}

static int parse_wal_ranges(struct parse_state *parse, json_t *ranges)
{
    if (!json_is_array(ranges))
        return CORRUPT("\"WAL-Ranges\" is not an array");
    struct pgb_manifest *manifest = parse->manifest;
    size_t count = json_array_size(ranges);
    if (count > 0 && !(manifest->wal_ranges = calloc(count, sizeof(*manifest->wal_ranges))))
        return pgb_error_nomem(parse->ctx);
    manifest->wal_range_count = count;
    for (size_t i = 0; i < count; i++) {
        int rc = parse_wal_range(parse, i + 1, json_array_get(ranges, i), &manifest->wal_ranges[i]);
        if (rc != PGB_OK)
            return rc;
    }
    return PGB_OK;
}

/* The top-level keys, in the order the server writes them and the reader insists on where it must. */
static int parse_top_level(struct parse_state *parse, json_t *root, const char *data, size_t covered)
{
    if (!json_is_object(root))
        return CORRUPT("not a JSON object");
    struct pgb_manifest *manifest = parse->manifest;
    void *iter = json_object_iter(root);
    if (!iter || strcmp(json_object_iter_key(iter), "PostgreSQL-Backup-Manifest-Version") != 0)
        return CORRUPT("expected version indicator");
    json_t *version = json_object_iter_value(iter);
    if (!json_is_integer(version) || json_integer_value(version) < 1 || json_integer_value(version) > 2)
        return CORRUPT("unexpected manifest version");
    manifest->version = (int)json_integer_value(version);

    json_t *files = NULL, *ranges = NULL, *checksum = NULL, *system_identifier = NULL;
    for (iter = json_object_iter_next(root, iter); iter; iter = json_object_iter_next(root, iter)) {
        const char *key = json_object_iter_key(iter);
        json_t *value = json_object_iter_value(iter);
        if (checksum)
            return CORRUPT("\"Manifest-Checksum\" is not the last field");
        if (strcmp(key, "Files") == 0)
            files = value;
        else if (strcmp(key, "WAL-Ranges") == 0)
            ranges = value;
        else if (strcmp(key, "Manifest-Checksum") == 0)
            checksum = value;
        else if (strcmp(key, "System-Identifier") == 0 && manifest->version >= 2)
            system_identifier = value;
        else
            return CORRUPT("unrecognized top-level field \"%.60s\"", key);
    }
    if (!checksum)
        return CORRUPT("manifest has no checksum");
    /* Only bytes that match their checksum are worth interpreting further. */
    int rc = check_manifest_checksum(parse, data, covered, checksum);
    if (rc != PGB_OK)
        return rc;
    if (manifest->version >= 2) {
        if (!system_identifier)
            return CORRUPT("expected system identifier");
        if (!json_is_integer(system_identifier) || json_integer_value(system_identifier) == 0)
            return CORRUPT("system identifier is not an integer");
        /* jansson reads integers as signed 64 bits; identifiers use all 64. */
        manifest->system_identifier = (uint64_t)json_integer_value(system_identifier);
    }
    if (!files)
        return CORRUPT("manifest has no \"Files\" list");
    rc = parse_files(parse, files);
    if (rc == PGB_OK && ranges)
        rc = parse_wal_ranges(parse, ranges);
    return rc;
}

int pgb_manifest_parse(pgb_ctx *ctx, const char *name, const void *data, size_t size,
                       struct pgb_manifest **out)
{
    *out = NULL;
    struct parse_state state = {ctx, name ? name : "(memory)", NULL}, *parse = &state;
    size_t covered = 0;
    int rc = checksummed_length(parse, data, size, &covered);
    if (rc != PGB_OK)
        return corrupt_named(parse, rc);
    json_error_t error;
    json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        return pgb_error_set(ctx, PGB_ECORRUPT, "backup manifest %s: parsing failed at line %d, column %d: %s",
                             state.name, error.line, error.column, error.text);
    if (!(state.manifest = calloc(1, sizeof(*state.manifest)))) {
        json_decref(root);
        return pgb_error_nomem(ctx);
    }
    state.manifest->magic = PGB_MANIFEST_MAGIC;
    rc = corrupt_named(parse, parse_top_level(parse, root, data, covered));
    json_decref(root);
    if (rc == PGB_OK)
        rc = pgb_manifest_build_index(ctx, state.name, state.manifest);
    if (rc != PGB_OK) {
        pgb_manifest_free(state.manifest);
        return rc;
    }
    *out = state.manifest;
    return PGB_OK;
}

int pgb_manifest_read_file(pgb_ctx *ctx, const char *path, struct pgb_manifest **out)
{
    *out = NULL;
    FILE *file = fopen(path, "rb");
    if (!file)
        return pgb_error_set(ctx, errno == ENOENT ? PGB_ENOTFOUND : PGB_EIO, "cannot open backup manifest %s: %s",
                             path, strerror(errno));
    struct stat st;
    char *data = NULL;
    int rc = PGB_OK;
    if (fstat(fileno(file), &st) != 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot stat backup manifest %s: %s", path, strerror(errno));
    else if (!(data = malloc((size_t)st.st_size + 1)))
        rc = pgb_error_nomem(ctx);
    else if (fread(data, 1, (size_t)st.st_size, file) != (size_t)st.st_size)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot read backup manifest %s: %s", path,
                           ferror(file) ? strerror(errno) : "it shrank while being read");
    fclose(file);
    if (rc == PGB_OK)
        rc = pgb_manifest_parse(ctx, path, data, (size_t)st.st_size, out);
    free(data);
    return rc;
}
