/*
 * Restoring one archived WAL file (restore_command). PostgreSQL reads any
 * failure but a signal or an exit status above 125 as "no such file", and at
 * the end of the archive that means "recovery is complete, promote"
 * (postgres-internals.md section 9, backup.sgml "Recovering Using a Continuous
 * Archive Backup"). So PGB_ENOTFOUND is returned only when the repository
 * answered and the file is certainly absent; everything else is another code,
 * and the CLI turns it into exit status 126, which stops recovery.
 *
 * The destination exists only once complete: the content goes to a temporary
 * file beside it, is synced, then renamed into place, and the folder synced.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>
#include <pgbackup/wal.h>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "wal/wal_file.h"
#include "wal/wal_sum.h"

enum { COPY_BUFFER_SIZE = 256 * 1024 };

/* One archived file found: its key and, when it has one, its checksum record. */
struct archived {
    char name[PGB_WAL_FILE_NAME_MAX + 1];
    char key[PGB_KEY_SIZE];
    int has_sum;
    struct pgb_wal_sum sum;
};

/*
 * Look for name in the archive and open it. The checksum record is read
 * before the object: records are written after their object, so a record
 * whose object is absent is damage, never "not archived".
 */
static int open_archived(struct pgb_repo *repo, const char *name, uint32_t timeline, struct archived *found,
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

/* Local failures are PGB_EIO whatever errno says: never PGB_ENOTFOUND, which would read as "not archived". */
static int local_error(pgb_ctx *ctx, const char *what, const char *path)
{
    return pgb_error_set(ctx, PGB_EIO, "cannot %s %s: %s", what, path, strerror(errno));
}

static int sync_folder(pgb_ctx *ctx, const char *folder)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return local_error(ctx, "open folder", folder);
    int rc = fsync(fd) == 0 ? PGB_OK : local_error(ctx, "fsync folder", folder);
    close(fd);
    return rc;
}

/* Copy the object's plaintext into destination through a temporary file beside it. */
static int copy_to(struct pgb_repo *repo, pgb_object_reader *reader, const struct archived *found,
                   const char *destination)
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
    if (rc == PGB_OK && fsync(fd) != 0)
        rc = local_error(ctx, "fsync", temp);
    if (fd >= 0 && close(fd) != 0 && rc == PGB_OK)
        rc = local_error(ctx, "close", temp);
    if (rc == PGB_OK && rename(temp, destination) != 0)
        rc = local_error(ctx, "rename into", destination);
    if (rc != PGB_OK && fd >= 0)
        unlink(temp);
    if (rc == PGB_OK)
        rc = sync_folder(ctx, folder);
    free(buffer);
    free(temp);
    free(copy);
    return rc;
}

int pgb_wal_fetch(pgb_repo *repo, const char *name, const char *destination)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!name || !destination || !*destination)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_wal_fetch: %s is missing", name ? "destination" : "name");
    int kind = 0;
    uint32_t timeline = 0;
    if (strchr(name, '/'))
        return pgb_error_set(ctx, PGB_EINVALID, "%s is not a WAL file name: it has a folder", name);
    int rc = pgb_wal_file_classify(ctx, NULL, name, &kind, &timeline);
    if (rc == PGB_OK)
        rc = pgb_wal_check_cluster(repo);
    if (rc != PGB_OK)
        return rc;
    struct archived found;
    pgb_object_reader *reader = NULL;
    rc = open_archived(repo, name, timeline, &found, &reader);
    if (rc == PGB_ENOTFOUND && kind == PGB_WAL_FILE_SEGMENT) {
        /*
         * Never archived complete, but perhaps as a partial segment: the last
         * file of a receiver's stream, or the last segment of a timeline that
         * was promoted away from. Its content is what the server wrote up to
         * there, and serving it lets recovery replay up to the newest byte.
         */
        pgb_error_clear(ctx);
        char partial[PGB_WAL_FILE_NAME_MAX + 1];
        snprintf(partial, sizeof(partial), "%s.partial", name);
        rc = open_archived(repo, partial, timeline, &found, &reader);
        if (rc == PGB_OK)
            pgb_log(ctx, PGB_LOG_INFO, "WAL segment %s was archived only as %s: serving its content", name, partial);
    }
    if (rc == PGB_ENOTFOUND)
        return pgb_error_set(ctx, PGB_ENOTFOUND, "WAL file %s is not archived in cluster %s of repository %s", name,
                             repo->cluster, pgb_storage_name(repo->storage));
    if (rc != PGB_OK)
        return rc;
    rc = copy_to(repo, reader, &found, destination);
    pgb_object_reader_close(reader);
    return rc;
}
