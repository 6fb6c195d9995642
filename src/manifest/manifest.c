#include "manifest/manifest_layout.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

static int is_manifest(const struct pgb_manifest *manifest)
{
    return manifest && manifest->magic == PGB_MANIFEST_MAGIC;
}

/* qsort has no payload argument: sort pointers to entries, then keep their indexes. */
static int compare_entries(const void *a, const void *b)
{
    const struct pgb_manifest_file *x = *(const struct pgb_manifest_file *const *)a;
    const struct pgb_manifest_file *y = *(const struct pgb_manifest_file *const *)b;
    return strcmp(x->path, y->path);
}

int pgb_manifest_build_index(pgb_ctx *ctx, const char *name, struct pgb_manifest *manifest)
{
    size_t count = manifest->file_count;
    free(manifest->by_path);
    manifest->by_path = NULL;
    if (count == 0)
        return PGB_OK;
    const struct pgb_manifest_file **entries = malloc(count * sizeof(*entries));
    manifest->by_path = malloc(count * sizeof(*manifest->by_path));
    if (!entries || !manifest->by_path) {
        free(entries);
        return pgb_error_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++)
        entries[i] = &manifest->files[i];
    qsort(entries, count, sizeof(*entries), compare_entries);
    int rc = PGB_OK;
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && strcmp(entries[i - 1]->path, entries[i]->path) == 0) {
            rc = pgb_error_set(ctx, PGB_ECORRUPT, "backup manifest %s: duplicate path name \"%s\"", name,
                               entries[i]->path);
            break;
        }
        manifest->by_path[i] = (size_t)(entries[i] - manifest->files);
    }
    free(entries);
    return rc;
}

void pgb_manifest_free(struct pgb_manifest *manifest)
{
    if (!is_manifest(manifest))
        return;
    for (size_t i = 0; i < manifest->file_count; i++)
        free(manifest->files[i].path);
    free(manifest->files);
    free(manifest->by_path);
    free(manifest->wal_ranges);
    manifest->magic = 0;
    free(manifest);
}

int pgb_manifest_version(const struct pgb_manifest *manifest)
{
    return is_manifest(manifest) ? manifest->version : 0;
}

uint64_t pgb_manifest_system_identifier(const struct pgb_manifest *manifest)
{
    return is_manifest(manifest) ? manifest->system_identifier : 0;
}

size_t pgb_manifest_file_count(const struct pgb_manifest *manifest)
{
    return is_manifest(manifest) ? manifest->file_count : 0;
}

const struct pgb_manifest_file *pgb_manifest_file_at(const struct pgb_manifest *manifest, size_t i)
{
    return is_manifest(manifest) && i < manifest->file_count ? &manifest->files[i] : NULL;
}

const struct pgb_manifest_file *pgb_manifest_find(const struct pgb_manifest *manifest, const char *path)
{
    if (!is_manifest(manifest) || !path || !manifest->by_path)
        return NULL;
    size_t low = 0, high = manifest->file_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const struct pgb_manifest_file *file = &manifest->files[manifest->by_path[middle]];
        int order = strcmp(path, file->path);
        if (order == 0)
            return file;
        if (order < 0)
            high = middle;
        else
            low = middle + 1;
    }
    return NULL;
}

size_t pgb_manifest_file_index(const struct pgb_manifest *manifest, const struct pgb_manifest_file *file)
{
    return (size_t)(file - manifest->files);
}

size_t pgb_manifest_wal_range_count(const struct pgb_manifest *manifest)
{
    return is_manifest(manifest) ? manifest->wal_range_count : 0;
}

const struct pgb_manifest_wal_range *pgb_manifest_wal_range_at(const struct pgb_manifest *manifest,
                                                               size_t i)
{
    return is_manifest(manifest) && i < manifest->wal_range_count ? &manifest->wal_ranges[i] : NULL;
}

int pgb_manifest_path_is_safe(const char *path)
{
    if (path[0] == '\0' || path[0] == '/')
        return 0;
    for (const char *part = path; part;) {
        const char *slash = strchr(part, '/');
        size_t length = slash ? (size_t)(slash - part) : strlen(part);
        if (length == 0 || (length == 1 && part[0] == '.') || (length == 2 && part[0] == '.' && part[1] == '.'))
            return 0;
        part = slash ? slash + 1 : NULL;
    }
    return 1;
}

int pgb_manifest_parse_lsn(const char *text, uint64_t *lsn)
{
    uint64_t halves[2] = {0, 0};
    const char *p = text;
    for (int half = 0; half < 2; half++) {
        int digits = 0;
        for (; *p; p++, digits++) {
            int value;
            if (*p >= '0' && *p <= '9')
                value = *p - '0';
            else if (*p >= 'A' && *p <= 'F')
                value = *p - 'A' + 10;
            else if (*p >= 'a' && *p <= 'f')
                value = *p - 'a' + 10;
            else
                break;
            halves[half] = halves[half] << 4 | (uint64_t)value;
        }
        if (digits < 1 || digits > 8)
            return -1;
        if (half == 0 && *p++ != '/')
            return -1;
    }
    if (*p != '\0')
        return -1;
    *lsn = halves[0] << 32 | halves[1];
    return 0;
}
