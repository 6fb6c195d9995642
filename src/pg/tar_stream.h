/*
 * Reading one tar archive of a base backup as it arrives, entry by entry, with
 * libarchive: the bytes are pulled from a source, file contents are handed on
 * in the blocks they arrive in, and nothing is ever held whole in memory.
 */
#ifndef PGB_PG_TAR_STREAM_H
#define PGB_PG_TAR_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

enum pgb_entry_type { PGB_ENTRY_FILE = 0, PGB_ENTRY_DIRECTORY = 1, PGB_ENTRY_SYMLINK = 2 };

/* One archive entry, valid only during the entry_begin call that receives it. */
struct pgb_backup_entry {
    /*
     * Relative to the data directory: no leading "./" or '/', no trailing '/',
     * no "." or ".." component. Tablespace content is under
     * "pg_tblspc/<oid>/PG_<major>_<catversion>/...", as in backup_manifest.
     */
    const char *path;
    int type;                /* enum pgb_entry_type */
    uint32_t mode;           /* permission bits (07777) */
    uint64_t size;           /* bytes that entry_data will deliver; 0 unless a file */
    int64_t mtime;           /* seconds since the epoch */
    const char *link_target; /* symlinks only, else NULL */
    uint32_t tablespace_oid; /* 0 for the main data directory */
};

/*
 * What receives the entries. Every function is optional, returns 0 to go on, or
 * non-zero to stop: the read then returns that code at once. A callback that
 * stops should record why in the context; if it did not, the reader records a
 * generic message naming the callback and the entry.
 */
struct pgb_tar_entry_callbacks {
    void *payload;
    int (*entry_begin)(void *payload, const struct pgb_backup_entry *entry);
    int (*entry_data)(void *payload, const uint8_t *data, size_t size); /* in order, all bytes */
    int (*entry_end)(void *payload);
};

/*
 * Where the archive's bytes come from. read sets *data and *size to the next
 * block (the block must stay valid until the next call), *size = 0 at the end of
 * the archive (and again on any later call), or returns a non-zero code with the
 * error recorded in the context, which the reader then returns.
 */
struct pgb_tar_source {
    void *payload;
    int (*read)(void *payload, const uint8_t **data, size_t *size);
};

/*
 * Read one archive to its end, calling cb for every entry.
 *
 * Paths are normalised as described for pgb_backup_entry; when
 * tablespace_oid is not 0 each is put under "pg_tblspc/<oid>/". An absolute path
 * or a ".." component, an entry type other than file, directory or symlink, a
 * truncated archive, or bytes other than zeros after the end-of-archive blocks
 * are PGB_ECORRUPT. An archive that ends without the end-of-archive blocks (the
 * form of servers 13 and 14) is accepted. The source is read to its end.
 *
 * @param archive_name  for messages ("base.tar")
 * @return 0, a callback's or the source's code, or PGB_ECORRUPT/PGB_ENOMEM,
 *         with the error recorded in ctx
 */
int pgb_tar_stream_read(pgb_ctx *ctx, const struct pgb_tar_source *source, const char *archive_name,
                        uint32_t tablespace_oid, const struct pgb_tar_entry_callbacks *cb);

/*
 * Normalise one archive path into out as pgb_tar_stream_read does (without the
 * tablespace prefix). Returns 0, or -1 for a path that must be refused (empty,
 * absolute, with a ".." component, or longer than out).
 */
int pgb_tar_path_normalise(const char *in, char *out, size_t out_size);

#endif
