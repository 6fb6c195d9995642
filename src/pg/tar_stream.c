#include "pg/tar_stream.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"

/* Long enough for any path PostgreSQL can send (ustar allows 99 bytes) and then some. */
#define TAR_PATH_MAX 4096

static const uint8_t zero_block[8192];

int pgb_tar_path_normalise(const char *in, char *out, size_t out_size)
{
    if (!in || in[0] == '/' || out_size == 0)
        return -1;
    size_t used = 0;
    const char *p = in;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        /* Empty and "." components vanish: "./pg_wal/archive_status", "pg_tblspc/16385/". */
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            size_t need = len + (used > 0 ? 1 : 0);
            if (used + need >= out_size)
                return -1;
            if (used > 0)
                out[used++] = '/';
            memcpy(out + used, p, len);
            used += len;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    out[used] = '\0';
    return used > 0 ? 0 : -1;
}

struct tar_reader {
    pgb_ctx *ctx;
    const struct pgb_tar_source *source;
    int source_status; /* the source's code once it failed */
    int at_end;        /* the source said the archive ended */
};

/* libarchive pulls through this; the block stays valid until the next call, as libarchive requires. */
static la_ssize_t tar_read_callback(struct archive *archive, void *client, const void **buffer)
{
    struct tar_reader *r = client;
    if (r->source_status)
        return ARCHIVE_FATAL;
    if (r->at_end)
        return 0;
    const uint8_t *data = NULL;
    size_t size = 0;
    int rc = r->source->read(r->source->payload, &data, &size);
    if (rc != 0) {
        r->source_status = rc;
        archive_set_error(archive, EIO, "the archive's source failed");
        return ARCHIVE_FATAL;
    }
    if (size == 0) {
        r->at_end = 1;
        return 0;
    }
    *buffer = data;
    return (la_ssize_t)size;
}

/* A callback asked to stop: keep its error if it recorded one, else say which callback stopped where. */
static int callback_stopped(pgb_ctx *ctx, int code, const char *callback, const char *path)
{
    if (pgb_ctx_errcode(ctx) == PGB_OK)
        pgb_error_set(ctx, code < 0 ? code : PGB_ECANCELED, "the %s callback stopped the backup at %s (code %d)",
                      callback, path, code);
    return code;
}

static int archive_failed(struct tar_reader *r, struct archive *archive, const char *archive_name,
                          const char *path)
{
    if (r->source_status)
        return r->source_status;
    const char *why = archive_error_string(archive);
    if (path)
        return pgb_error_set(r->ctx, PGB_ECORRUPT, "cannot read %s of the tar archive %s: %s", path,
                             archive_name, why ? why : "unknown libarchive error");
    return pgb_error_set(r->ctx, PGB_ECORRUPT, "cannot read the tar archive %s: %s", archive_name,
                         why ? why : "unknown libarchive error");
}

static int send_zeros(pgb_ctx *ctx, const struct pgb_tar_entry_callbacks *cb, uint64_t count, const char *path)
{
    while (count > 0 && cb->entry_data) {
        size_t n = count < sizeof(zero_block) ? (size_t)count : sizeof(zero_block);
        int rc = cb->entry_data(cb->payload, zero_block, n);
        if (rc != 0)
            return callback_stopped(ctx, rc, "entry_data", path);
        count -= n;
    }
    return PGB_OK;
}

static int send_file_data(struct tar_reader *r, struct archive *archive, const char *archive_name,
                          const struct pgb_backup_entry *entry, const struct pgb_tar_entry_callbacks *cb)
{
    uint64_t done = 0;
    for (;;) {
        const void *block;
        size_t size;
        la_int64_t offset;
        int ar = archive_read_data_block(archive, &block, &size, &offset);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
            return archive_failed(r, archive, archive_name, entry->path);
        if (offset < 0 || (uint64_t)offset < done || (uint64_t)offset + size > entry->size)
            return pgb_error_set(r->ctx, PGB_ECORRUPT, "%s in the tar archive %s has data outside its size",
                                 entry->path, archive_name);
        /* A hole (sparse entry; PostgreSQL never writes one) reads as zeros. */
        int rc = send_zeros(r->ctx, cb, (uint64_t)offset - done, entry->path);
        if (rc != PGB_OK)
            return rc;
        done = (uint64_t)offset;
        if (size > 0 && cb->entry_data) {
            rc = cb->entry_data(cb->payload, block, size);
            if (rc != 0)
                return callback_stopped(r->ctx, rc, "entry_data", entry->path);
        }
        done += size;
    }
    return send_zeros(r->ctx, cb, entry->size - done, entry->path);
}

static int read_entry(struct tar_reader *r, struct archive *archive, struct archive_entry *tar_entry,
                      const char *archive_name, const char *prefix, const struct pgb_tar_entry_callbacks *cb,
                      uint32_t tablespace_oid)
{
    const char *raw = archive_entry_pathname(tar_entry);
    char path[TAR_PATH_MAX];
    size_t prefix_len = strlen(prefix);
    memcpy(path, prefix, prefix_len + 1);
    if (!raw || pgb_tar_path_normalise(raw, path + prefix_len, sizeof(path) - prefix_len) != 0)
        return pgb_error_set(r->ctx, PGB_ECORRUPT, "the tar archive %s has an entry with an unsafe name: \"%.200s\"",
                             archive_name, raw ? raw : "(none)");

    struct pgb_backup_entry entry = {.path = path, .tablespace_oid = tablespace_oid};
    switch (archive_entry_filetype(tar_entry)) {
    case AE_IFREG:
        if (archive_entry_hardlink(tar_entry))
            return pgb_error_set(r->ctx, PGB_ECORRUPT,
                                 "the tar archive %s has a hard link %s, which PostgreSQL never sends", archive_name,
                                 path);
        entry.type = PGB_ENTRY_FILE;
        entry.size = archive_entry_size(tar_entry) > 0 ? (uint64_t)archive_entry_size(tar_entry) : 0;
        break;
    case AE_IFDIR:
        entry.type = PGB_ENTRY_DIRECTORY;
        break;
    case AE_IFLNK:
        entry.type = PGB_ENTRY_SYMLINK;
        entry.link_target = archive_entry_symlink(tar_entry);
        if (!entry.link_target || !*entry.link_target)
            return pgb_error_set(r->ctx, PGB_ECORRUPT, "the symlink %s in the tar archive %s has no target", path,
                                 archive_name);
        break;
    default:
        return pgb_error_set(r->ctx, PGB_ECORRUPT,
                             "%s in the tar archive %s is neither a file, a directory nor a symlink", path,
                             archive_name);
    }
    entry.mode = (uint32_t)archive_entry_perm(tar_entry) & 07777u;
    entry.mtime = (int64_t)archive_entry_mtime(tar_entry);

    int rc;
    if (cb->entry_begin && (rc = cb->entry_begin(cb->payload, &entry)) != 0)
        return callback_stopped(r->ctx, rc, "entry_begin", path);
    if (entry.type == PGB_ENTRY_FILE) {
        rc = send_file_data(r, archive, archive_name, &entry, cb);
        if (rc != PGB_OK)
            return rc;
    }
    if (cb->entry_end && (rc = cb->entry_end(cb->payload)) != 0)
        return callback_stopped(r->ctx, rc, "entry_end", path);
    return PGB_OK;
}

/*
 * After the end-of-archive blocks the server sends nothing more for this
 * archive; anything left must be zero padding, or the stream is out of step.
 */
static int drain_source(struct tar_reader *r, const char *archive_name)
{
    while (!r->at_end && !r->source_status) {
        const uint8_t *data = NULL;
        size_t size = 0;
        int rc = r->source->read(r->source->payload, &data, &size);
        if (rc != 0)
            return r->source_status = rc;
        if (size == 0) {
            r->at_end = 1;
            break;
        }
        for (size_t i = 0; i < size; i++)
            if (data[i] != 0)
                return pgb_error_set(r->ctx, PGB_ECORRUPT, "the tar archive %s has data after its end", archive_name);
    }
    return r->source_status;
}

int pgb_tar_stream_read(pgb_ctx *ctx, const struct pgb_tar_source *source, const char *archive_name,
                        uint32_t tablespace_oid, const struct pgb_tar_entry_callbacks *cb)
{
    static const struct pgb_tar_entry_callbacks no_callbacks = {0};
    if (!cb)
        cb = &no_callbacks;
    char prefix[32] = "";
    if (tablespace_oid != 0)
        snprintf(prefix, sizeof(prefix), "pg_tblspc/%u/", (unsigned)tablespace_oid);

    struct tar_reader r = {.ctx = ctx, .source = source};
    struct archive *archive = archive_read_new();
    if (!archive)
        return pgb_error_nomem(ctx);
    int rc = PGB_OK;
    if (archive_read_support_format_tar(archive) != ARCHIVE_OK ||
        archive_read_open(archive, &r, NULL, tar_read_callback, NULL) != ARCHIVE_OK) {
        rc = archive_failed(&r, archive, archive_name, NULL);
        goto done;
    }
    for (;;) {
        struct archive_entry *tar_entry;
        int ar = archive_read_next_header(archive, &tar_entry);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar == ARCHIVE_WARN) {
            const char *why = archive_error_string(archive);
            pgb_log(ctx, PGB_LOG_WARNING, "tar archive %s: %s", archive_name, why ? why : "warning");
        } else if (ar != ARCHIVE_OK) {
            rc = archive_failed(&r, archive, archive_name, NULL);
            goto done;
        }
        rc = read_entry(&r, archive, tar_entry, archive_name, prefix, cb, tablespace_oid);
        if (rc != PGB_OK)
            goto done;
    }
    rc = drain_source(&r, archive_name);
done:
    archive_read_free(archive);
    return rc;
}
