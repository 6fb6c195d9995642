/*
 * A WAL receiver's writes into the archive. Complete segments and history
 * files follow wal_push.c's rules (object first, never replaced, then its
 * checksum record; identical content already there is success), so that a
 * receiver and archive_command can store the same file in either order.
 *
 * A partial segment is replaced as it grows: object first, then its record
 * (wal_fetch.c retries a read that falls between the two). Once the segment
 * is complete its partial goes, record first, so that no record is ever left
 * without its object.
 */
#include "wal/wal_receive_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "pg/lsn.h"
#include "storage/storage.h"
#include "wal/wal_file.h"
#include "wal/wal_sum.h"

enum { BUFFER_SIZE = 256 * 1024 };

int pgb_wal_store_open(struct pgb_wal_store *st, struct pgb_repo *repo, const struct pgb_object_spec *spec,
                       uint64_t segment_size)
{
    *st = (struct pgb_wal_store){.repo = repo, .spec = *spec, .segment_size = segment_size, .fd = -1};
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    /* Durability comes from the repository; this file only spares memory the size of a segment. */
    st->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (st->fd < 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/pgbackup-wal-receive-XXXXXX", dir);
        st->fd = mkostemp(path, O_CLOEXEC);
        if (st->fd >= 0)
            unlink(path);
    }
    if (st->fd < 0)
        return pgb_error_set(repo->ctx, PGB_EIO, "cannot make a temporary file in %s for the WAL segment being "
                             "received: %s", dir, strerror(errno));
    st->buffer = malloc(BUFFER_SIZE);
    if (!st->buffer) {
        pgb_wal_store_close(st);
        return pgb_error_nomem(repo->ctx);
    }
    return PGB_OK;
}

void pgb_wal_store_close(struct pgb_wal_store *st)
{
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    free(st->buffer);
    st->buffer = NULL;
}

static uint64_t segment_start(const struct pgb_wal_store *st)
{
    return pgb_wal_segment_start(st->segno, st->segment_size);
}

void pgb_wal_store_begin(struct pgb_wal_store *st, uint32_t timeline, uint64_t segno, uint64_t partial_end)
{
    st->active = 1;
    st->timeline = timeline;
    st->segno = segno;
    st->filled = 0;
    st->completed = 0;
    st->partial_owner = partial_end ? PGB_WAL_PARTIAL_RECEIVER : PGB_WAL_PARTIAL_UNKNOWN;
    st->partial_end = partial_end;
    st->durable = partial_end > segment_start(st) ? partial_end : segment_start(st);
}

int pgb_wal_store_append(struct pgb_wal_store *st, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = pwrite(st->fd, data, size, (off_t)st->filled);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return pgb_error_set(st->repo->ctx, PGB_EIO, "cannot write the WAL segment being received to a "
                                 "temporary file: %s", n < 0 ? strerror(errno) : "no space");
        data += n;
        size -= (size_t)n;
        st->filled += (uint64_t)n;
    }
    return PGB_OK;
}

/* ---- names ---- */

static void segment_name(const struct pgb_wal_store *st, int partial, char out[PGB_WAL_FILE_NAME_MAX + 1])
{
    char name[PGB_WAL_NAME_SIZE];
    pgb_wal_segment_name(st->timeline, st->segno, st->segment_size, name);
    snprintf(out, PGB_WAL_FILE_NAME_MAX + 1, "%s%s", name, partial ? ".partial" : "");
}

/* ---- content sources: the temporary file (zero-padded to a length) or memory ---- */

struct source {
    int fd;               /* or -1 for memory */
    const uint8_t *memory;
    uint64_t size;        /* bytes of the file or memory */
    uint64_t padded_size; /* zeros follow up to here */
};

typedef int (*block_fn)(void *payload, const uint8_t *data, size_t size);

static int read_source(struct pgb_wal_store *st, const struct source *src, block_fn each, void *payload)
{
    uint64_t offset = 0;
    while (offset < src->padded_size) {
        size_t chunk = BUFFER_SIZE;
        if ((uint64_t)chunk > src->padded_size - offset)
            chunk = (size_t)(src->padded_size - offset);
        const uint8_t *data = st->buffer;
        if (offset >= src->size) {
            memset(st->buffer, 0, chunk);
        } else if (src->fd < 0) {
            data = src->memory + offset;
            if ((uint64_t)chunk > src->size - offset)
                chunk = (size_t)(src->size - offset);
        } else {
            if ((uint64_t)chunk > src->size - offset)
                chunk = (size_t)(src->size - offset);
            ssize_t got = pread(src->fd, st->buffer, chunk, (off_t)offset);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                return pgb_error_set(st->repo->ctx, PGB_EIO, "cannot read back the WAL segment being received "
                                     "from its temporary file: %s", got < 0 ? strerror(errno) : "it is short");
            chunk = (size_t)got;
        }
        int rc = each(payload, data, chunk);
        if (rc != PGB_OK)
            return rc;
        offset += chunk;
    }
    return PGB_OK;
}

static int write_block(void *payload, const uint8_t *data, size_t size)
{
    return pgb_object_writer_write(payload, data, size);
}

static int hash_block(void *payload, const uint8_t *data, size_t size)
{
    return EVP_DigestUpdate(payload, data, size) == 1 ? PGB_OK : PGB_ERROR;
}

/* Write key from src with flags; sum gets the plaintext's SHA-256 and size. */
static int put_object(struct pgb_wal_store *st, const char *key, const struct source *src, int flags,
                      struct pgb_wal_sum *sum)
{
    struct pgb_object_spec spec = st->spec;
    spec.flags = flags;
    pgb_object_writer *writer = NULL;
    int rc = pgb_object_writer_open(&writer, st->repo->storage, key, &st->repo->keys, &spec);
    if (rc != PGB_OK)
        return rc;
    rc = read_source(st, src, write_block, writer);
    if (rc != PGB_OK) {
        pgb_object_writer_abort(writer);
        return rc;
    }
    struct pgb_object_info info;
    rc = pgb_object_writer_commit(writer, &info);
    if (rc == PGB_OK) {
        memset(sum, 0, sizeof(*sum));
        memcpy(sum->sha256, info.sha256, sizeof(sum->sha256));
        sum->size = info.plain_size;
    }
    return rc;
}

static int local_sum(struct pgb_wal_store *st, const struct source *src, struct pgb_wal_sum *sum)
{
    memset(sum, 0, sizeof(*sum));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? PGB_OK : PGB_ERROR;
    if (rc == PGB_OK)
        rc = read_source(st, src, hash_block, md);
    unsigned int length = 0;
    if (rc == PGB_OK && EVP_DigestFinal_ex(md, sum->sha256, &length) != 1)
        rc = PGB_ERROR;
    if (rc == PGB_ERROR)
        pgb_error_set(st->repo->ctx, PGB_ERROR, "cannot compute SHA-256: OpenSSL failed");
    EVP_MD_CTX_free(md);
    sum->size = src->padded_size;
    return rc;
}

/* The SHA-256 and size of an archived object, read back (needs a key that can read). */
static int archived_sum(struct pgb_wal_store *st, const char *key, struct pgb_wal_sum *sum)
{
    memset(sum, 0, sizeof(*sum));
    pgb_object_reader *reader = NULL;
    int rc = pgb_object_reader_open(&reader, st->repo->storage, key, &st->repo->keys, NULL);
    while (rc == PGB_OK) {
        size_t got = 0;
        rc = pgb_object_reader_read(reader, st->buffer, BUFFER_SIZE, &got);
        if (rc != PGB_OK || got == 0)
            break;
        sum->size += got;
    }
    if (rc == PGB_OK)
        rc = pgb_object_reader_digest(reader, sum->sha256);
    pgb_object_reader_close(reader);
    return rc;
}

/*
 * name is archived already (by archive_command, or by this receiver before a
 * restart): identical content is success, different content PGB_EEXISTS.
 */
static int settle_existing(struct pgb_wal_store *st, const char *name, const char *key, const char *sum_key,
                           const struct source *src)
{
    pgb_ctx *ctx = st->repo->ctx;
    struct pgb_wal_sum local, recorded;
    int rc = local_sum(st, src, &local);
    if (rc != PGB_OK)
        return rc;
    rc = pgb_wal_sum_read(st->repo, sum_key, name, &recorded);
    if (rc == PGB_ENOTFOUND) {
        /* A push died between the object and its record: compare the content, when this key can read it. */
        pgb_error_clear(ctx);
        if (!pgb_repo_can_read(st->repo)) {
            pgb_log(ctx, PGB_LOG_WARNING, "WAL file %s is archived without its checksum record, and this host "
                    "holds only the writer key, so it cannot compare it with the WAL received: the archived copy "
                    "is kept", name);
            return PGB_OK;
        }
        rc = archived_sum(st, key, &recorded);
        if (rc == PGB_OK && pgb_wal_sum_equal(&local, &recorded))
            rc = pgb_wal_sum_write(st->repo, sum_key, name, &local);
        if (rc == PGB_EEXISTS) {
            pgb_error_clear(ctx);
            rc = pgb_wal_sum_read(st->repo, sum_key, name, &recorded);
        }
    }
    if (rc != PGB_OK)
        return rc;
    if (!pgb_wal_sum_equal(&local, &recorded))
        return pgb_error_set(ctx, PGB_EEXISTS, "WAL file %s is archived already with other content than the "
                             "server streams under that name: another server's WAL in this cluster's archive? "
                             "(%s)", name, key);
    pgb_log(ctx, PGB_LOG_DEBUG, "WAL file %s was archived already with identical content", name);
    return PGB_OK;
}

/* Store name once, as wal-push does. */
static int put_immutable(struct pgb_wal_store *st, const char *name, uint32_t timeline, const struct source *src)
{
    pgb_ctx *ctx = st->repo->ctx;
    char key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    pgb_wal_archive_key(st->repo, name, timeline, key);
    pgb_wal_sum_key(key, sum_key);
    int rc = pgb_storage_stat(st->repo->storage, key, NULL);
    if (rc == PGB_OK)
        return settle_existing(st, name, key, sum_key, src);
    if (rc != PGB_ENOTFOUND)
        return rc;
    pgb_error_clear(ctx);
    struct pgb_wal_sum sum;
    rc = put_object(st, key, src, PGB_STORAGE_NO_OVERWRITE, &sum);
    if (rc == PGB_EEXISTS) { /* archive_command stored it meanwhile */
        pgb_error_clear(ctx);
        return settle_existing(st, name, key, sum_key, src);
    }
    if (rc == PGB_OK)
        rc = pgb_wal_sum_write(st->repo, sum_key, name, &sum);
    if (rc == PGB_EEXISTS) {
        pgb_error_clear(ctx);
        return settle_existing(st, name, key, sum_key, src);
    }
    return rc;
}

/* ---- segments ---- */

/* Remove the receiver's partial of the current segment: record first, so a record never outlives its object. */
static int remove_partial(struct pgb_wal_store *st)
{
    char name[PGB_WAL_FILE_NAME_MAX + 1], key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    segment_name(st, 1, name);
    pgb_wal_archive_key(st->repo, name, st->timeline, key);
    pgb_wal_sum_key(key, sum_key);
    int rc = pgb_storage_remove(st->repo->storage, sum_key);
    if (rc == PGB_OK)
        rc = pgb_storage_remove(st->repo->storage, key);
    if (rc == PGB_OK)
        pgb_log(st->repo->ctx, PGB_LOG_DEBUG, "removed %s: its segment is complete", name);
    return rc;
}

/* Look at the partial in the repository once: whose it is, and how far it reaches. */
static int learn_partial_owner(struct pgb_wal_store *st)
{
    char name[PGB_WAL_FILE_NAME_MAX + 1], key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    segment_name(st, 1, name);
    pgb_wal_archive_key(st->repo, name, st->timeline, key);
    pgb_wal_sum_key(key, sum_key);
    struct pgb_wal_sum sum;
    uint64_t received_end = 0;
    int rc = pgb_wal_sum_read_received(st->repo, sum_key, name, &sum, &received_end);
    if (rc == PGB_ENOTFOUND) {
        pgb_error_clear(st->repo->ctx);
        st->partial_owner = PGB_WAL_PARTIAL_RECEIVER;
        return PGB_OK;
    }
    if (rc != PGB_OK)
        return rc;
    if (received_end == 0) {
        st->partial_owner = PGB_WAL_PARTIAL_ARCHIVED;
        pgb_log(st->repo->ctx, PGB_LOG_INFO, "%s was archived by archive_command: it is kept as it is", name);
        return PGB_OK;
    }
    st->partial_owner = PGB_WAL_PARTIAL_RECEIVER;
    if (received_end > st->partial_end)
        st->partial_end = received_end;
    if (st->partial_end > st->durable)
        st->durable = st->partial_end;
    return PGB_OK;
}

int pgb_wal_store_complete(struct pgb_wal_store *st)
{
    if (st->completed)
        return PGB_OK;
    char name[PGB_WAL_FILE_NAME_MAX + 1];
    segment_name(st, 0, name);
    struct source src = {.fd = st->fd, .size = st->filled, .padded_size = st->filled};
    int rc = put_immutable(st, name, st->timeline, &src);
    if (rc == PGB_OK && st->partial_owner == PGB_WAL_PARTIAL_UNKNOWN)
        rc = learn_partial_owner(st);
    if (rc == PGB_OK && st->partial_owner == PGB_WAL_PARTIAL_RECEIVER)
        rc = remove_partial(st);
    if (rc != PGB_OK)
        return rc;
    st->completed = 1;
    st->partial_end = 0;
    st->durable = segment_start(st) + st->segment_size;
    pgb_log(st->repo->ctx, PGB_LOG_INFO, "WAL segment %s received and archived", name);
    return PGB_OK;
}

int pgb_wal_store_partial(struct pgb_wal_store *st)
{
    uint64_t end = segment_start(st) + st->filled;
    if (!st->active || st->completed || st->filled == 0 || end <= st->partial_end)
        return PGB_OK;
    int rc = st->partial_owner == PGB_WAL_PARTIAL_UNKNOWN ? learn_partial_owner(st) : PGB_OK;
    if (rc != PGB_OK || st->partial_owner == PGB_WAL_PARTIAL_ARCHIVED || end <= st->partial_end)
        return rc;
    char name[PGB_WAL_FILE_NAME_MAX + 1], key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    segment_name(st, 1, name);
    pgb_wal_archive_key(st->repo, name, st->timeline, key);
    pgb_wal_sum_key(key, sum_key);
    /* Full segment size, as pg_receivewal leaves it: restore_command must hand recovery a whole segment. */
    struct source src = {.fd = st->fd, .size = st->filled, .padded_size = st->segment_size};
    struct pgb_wal_sum sum;
    rc = put_object(st, key, &src, 0, &sum);
    if (rc == PGB_OK)
        rc = pgb_wal_sum_write_received(st->repo, sum_key, name, &sum, end);
    if (rc != PGB_OK)
        return rc;
    st->partial_end = end;
    st->durable = end;
    char at[PGB_LSN_TEXT_SIZE];
    pgb_log(st->repo->ctx, PGB_LOG_DEBUG, "WAL up to %s archived in %s", pgb_lsn_format(end, at), name);
    return PGB_OK;
}

int pgb_wal_store_history(struct pgb_wal_store *st, const char *name, const void *content, size_t size)
{
    int kind = 0;
    uint32_t timeline = 0;
    int rc = pgb_wal_file_classify(st->repo->ctx, NULL, name, &kind, &timeline);
    if (rc == PGB_OK && kind != PGB_WAL_FILE_HISTORY)
        rc = pgb_error_set(st->repo->ctx, PGB_ECONNECTION, "the server sent %s as a timeline history file", name);
    if (rc != PGB_OK)
        return rc;
    struct source src = {.fd = -1, .memory = content, .size = size, .padded_size = size};
    rc = put_immutable(st, name, timeline, &src);
    if (rc == PGB_OK)
        pgb_log(st->repo->ctx, PGB_LOG_INFO, "timeline history file %s archived", name);
    return rc;
}

int pgb_wal_store_has_history(struct pgb_wal_store *st, uint32_t timeline)
{
    char name[PGB_WAL_FILE_NAME_MAX + 1], key[PGB_KEY_SIZE];
    snprintf(name, sizeof(name), "%08" PRIX32 ".history", timeline);
    pgb_wal_archive_key(st->repo, name, timeline, key);
    char sum_key[PGB_KEY_SIZE];
    pgb_wal_sum_key(key, sum_key);
    /* The record is written last: with it, the file is there for good. */
    int found = pgb_storage_stat(st->repo->storage, sum_key, NULL) == PGB_OK;
    pgb_error_clear(st->repo->ctx);
    return found;
}
