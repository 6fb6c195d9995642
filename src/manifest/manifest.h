/*
 * PostgreSQL's backup_manifest: reading (versions 1 and 2, PostgreSQL 13 to
 * 17), looking files up, and writing one byte for byte in the server's layout
 * (src/backend/backup/backup_manifest.c), so that the real pg_verifybackup
 * accepts what we write. The manifest is the single truth about a backup.
 */
#ifndef PGB_MANIFEST_MANIFEST_H
#define PGB_MANIFEST_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <pgbackup/common.h>

#include "manifest/checksum.h"

/* Begins struct pgb_manifest, as handle.h's numbers begin public handles. */
#define PGB_MANIFEST_MAGIC 0x5047424du /* "PGBM" */

/* One regular file of the backup. */
struct pgb_manifest_file {
    char *path;     /* raw bytes relative to the data directory, "/" separated */
    uint64_t size;  /* bytes as sent, padding included */
    time_t mtime;   /* Last-Modified; -1 when absent or unreadable (readers ignore it) */
    enum pgb_checksum_type checksum_type;
    size_t checksum_size; /* pgb_checksum_type_size(checksum_type) */
    uint8_t checksum[PGB_CHECKSUM_MAX_SIZE];
};

/* WAL that restoring the backup replays, on one timeline: [start_lsn, end_lsn]. */
struct pgb_manifest_wal_range {
    uint32_t timeline;
    uint64_t start_lsn;
    uint64_t end_lsn;
};

struct pgb_manifest; /* a parsed manifest: files in manifest order, WAL ranges */

/*
 * Parse a manifest held in memory and check its Manifest-Checksum the way
 * PostgreSQL does (SHA-256 of every byte up to and including the newline
 * before the last line). name says where it came from, for messages.
 * Fails with PGB_ECORRUPT "backup manifest <name>: <what is wrong>" for bad
 * JSON, a wrong layout, a checksum mismatch, a duplicate or unsafe path.
 * Free the result with pgb_manifest_free().
 */
int pgb_manifest_parse(pgb_ctx *ctx, const char *name, const void *data, size_t size,
                       struct pgb_manifest **out);

/* Read path and parse it; PGB_ENOTFOUND when it does not exist, PGB_EIO. */
int pgb_manifest_read_file(pgb_ctx *ctx, const char *path, struct pgb_manifest **out);

void pgb_manifest_free(struct pgb_manifest *manifest);

/* 1 (PostgreSQL 13 to 16) or 2 (17, with a system identifier). */
int pgb_manifest_version(const struct pgb_manifest *manifest);

/* The System-Identifier of a version 2 manifest; 0 for version 1. */
uint64_t pgb_manifest_system_identifier(const struct pgb_manifest *manifest);

size_t pgb_manifest_file_count(const struct pgb_manifest *manifest);

/* File i in manifest order (0 <= i < count), or NULL; owned by the manifest. */
const struct pgb_manifest_file *pgb_manifest_file_at(const struct pgb_manifest *manifest, size_t i);

/* The entry for path (raw bytes), or NULL; binary search, O(log n). */
const struct pgb_manifest_file *pgb_manifest_find(const struct pgb_manifest *manifest, const char *path);

/* Position of an entry of this manifest in manifest order, for per-file state arrays. */
size_t pgb_manifest_file_index(const struct pgb_manifest *manifest, const struct pgb_manifest_file *file);

size_t pgb_manifest_wal_range_count(const struct pgb_manifest *manifest);

/* WAL range i in manifest order (newest timeline first), or NULL. */
const struct pgb_manifest_wal_range *pgb_manifest_wal_range_at(const struct pgb_manifest *manifest,
                                                               size_t i);

/* ---- writing ---- */

struct pgb_manifest_writer;

/*
 * Start a manifest: version 1 (what PostgreSQL 13 to 16 write and read; they
 * refuse version 2) or 2 with system_identifier (PostgreSQL 17).
 * Free with pgb_manifest_writer_free(). Returns 0, PGB_EINVALID or PGB_ENOMEM.
 */
int pgb_manifest_writer_new(pgb_ctx *ctx, int version, uint64_t system_identifier,
                            struct pgb_manifest_writer **out);

/*
 * Add one file, in the order it should appear. path is raw bytes: valid UTF-8
 * goes out as "Path", anything else as hex "Encoded-Path". checksum holds
 * pgb_checksum_type_size(type) bytes (NULL for NONE). Files come before WAL
 * ranges. Returns 0, PGB_EINVALID (bad path, checksum, or call order) or PGB_ENOMEM.
 */
int pgb_manifest_writer_add_file(struct pgb_manifest_writer *writer, const char *path, uint64_t size,
                                 time_t mtime, enum pgb_checksum_type type, const uint8_t *checksum);

/* Add a WAL range (newest timeline first, as the server does). Returns 0, PGB_EINVALID or PGB_ENOMEM. */
int pgb_manifest_writer_add_wal_range(struct pgb_manifest_writer *writer, uint32_t timeline,
                                      uint64_t start_lsn, uint64_t end_lsn);

/*
 * Close the lists and append the Manifest-Checksum. *data (malloc'd, the
 * caller frees it with free(); NUL-terminated, the NUL not counted in *size)
 * is the whole file. The writer takes nothing more afterwards.
 * Returns 0, PGB_EINVALID when already finished, or PGB_ENOMEM.
 */
int pgb_manifest_writer_finish(struct pgb_manifest_writer *writer, char **data, size_t *size);

void pgb_manifest_writer_free(struct pgb_manifest_writer *writer);

/*
 * Whether path is relative and has no empty, "." or ".." part. PostgreSQL
 * never writes such a path, and files named in a manifest get opened.
 */
int pgb_manifest_path_is_safe(const char *path);

/* ---- LSNs as manifests write them ---- */

/* Parse "XXXXXXXX/XXXXXXXX" (1 to 8 hex digits each side). Returns 0, or -1 when malformed. */
int pgb_manifest_parse_lsn(const char *text, uint64_t *lsn);

#endif
