#include "wal/wal_read.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"

enum { COPY_BUFFER_SIZE = 256 * 1024 };

/*
 * The checksum record is read before the object: records are written after
 * their object, so a record whose object is absent is damage, never "not
 * archived".
 */
int pgb_wal_archived_open(struct pgb_repo *repo, const char *name, uint32_t timeline, struct pgb_wal_archived *found,
                          pgb_object_reader **reader)
{
    snprintf(found->name, sizeof(found->name), "%s", name);
    pgb_wal_archive_key(repo, name, timeline, found->key);
    char sum_key[PGB_KEY_SIZE];
    pgb_wal_sum_key(found->key, sum_key);
    int rc = pgb_wal_sum_read(repo, sum_key, name, &found->sum);
    found->has_sum = rc == PGB_OK;
    if (rc == PGB_ENOTFOUND) {
        pgb_error_clear(repo->ctx);
        rc = PGB_OK;
    }
    if (rc != PGB_OK)
        return rc;
    rc = pgb_object_reader_open(reader, repo->storage, found->key, &repo->keys,
                                found->has_sum ? found->sum.sha256 : NULL);
    if (rc == PGB_ENOTFOUND && found->has_sum)
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "the archived copy of WAL file %s (%s) is missing, though its "
                           "checksum record is there: the archive is damaged", name, found->key);
    return rc;
}

static int write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

static int local_error(pgb_ctx *ctx, const char *what, const char *path)
{
    return pgb_error_set(ctx, PGB_EIO, "cannot %s %s: %s", what, path, strerror(errno));
}

int pgb_wal_sync_folder(pgb_ctx *ctx, const char *folder)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return local_error(ctx, "open folder", folder);
    int rc = fsync(fd) == 0 ? PGB_OK : local_error(ctx, "fsync folder", folder);
    close(fd);
    return rc;
}

int pgb_wal_archived_copy(struct pgb_repo *repo, pgb_object_reader *reader, const struct pgb_wal_archived *found,
                          const char *destination, struct pgb_wal_sum *copied)
{
    pgb_ctx *ctx = repo->ctx;
    char *copy = pgb_text_dup(destination);
    char *folder = copy ? dirname(copy) : NULL;
    const char *slash = strrchr(destination, '/');
    char *temp = folder ? pgb_text_printf("%s/.%s.pgbackup-XXXXXX", folder, slash ? slash + 1 : destination) : NULL;
    uint8_t *buffer = temp ? malloc(COPY_BUFFER_SIZE) : NULL;
    if (!buffer) {
        free(temp);
        free(copy);
        return pgb_error_nomem(ctx);
    }
    int rc = PGB_OK;
    int fd = mkstemp(temp);
    if (fd < 0)
        rc = local_error(ctx, "create a temporary file beside", destination);
    uint64_t total = 0;
    while (rc == PGB_OK) {
        size_t got = 0;
        rc = pgb_object_reader_read(reader, buffer, COPY_BUFFER_SIZE, &got);
        if (rc != PGB_OK || got == 0)
            break;
        total += got;
        if (write_all(fd, buffer, got) != 0)
            rc = local_error(ctx, "write", temp);
    }
    if (rc == PGB_OK && found->has_sum && total != found->sum.size)
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "archived WAL file %s is damaged: it holds %" PRIu64 " bytes, its "
                           "checksum record says %" PRIu64, found->key, total, found->sum.size);
    if (rc == PGB_OK && copied) {
        copied->size = total;
        rc = pgb_object_reader_digest(reader, copied->sha256);
    }
    if (rc == PGB_OK && fsync(fd) != 0)
        rc = local_error(ctx, "fsync", temp);
    if (fd >= 0 && close(fd) != 0 && rc == PGB_OK)
        rc = local_error(ctx, "close", temp);
    if (rc == PGB_OK && rename(temp, destination) != 0)
        rc = local_error(ctx, "rename into", destination);
    if (rc != PGB_OK && fd >= 0)
        unlink(temp);
    if (rc == PGB_OK)
        rc = pgb_wal_sync_folder(ctx, folder);
    free(buffer);
    free(temp);
    free(copy);
    return rc;
}
