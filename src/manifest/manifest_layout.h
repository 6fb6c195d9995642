/*
 * The layout of struct pgb_manifest, shared by the files of this layer that
 * build or read it.
 */
#ifndef PGB_MANIFEST_LAYOUT_H
#define PGB_MANIFEST_LAYOUT_H

#include "manifest/manifest.h"

struct pgb_manifest {
    uint32_t magic;
    int version;
    uint64_t system_identifier;
    struct pgb_manifest_file *files; /* manifest order; each path owned */
    size_t file_count;
    size_t *by_path; /* indexes into files, sorted by path for lookups */
    struct pgb_manifest_wal_range *wal_ranges;
    size_t wal_range_count;
};

/*
 * Sort the lookup index; a path listed twice fails with PGB_ECORRUPT, as it
 * does in pg_verifybackup. name is the manifest's name for the message.
 */
int pgb_manifest_build_index(pgb_ctx *ctx, const char *name, struct pgb_manifest *manifest);

#endif
