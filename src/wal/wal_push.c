/*
 * Archiving one WAL file (archive_command), as postgres-internals.md section 9
 * and PostgreSQL's "Setting Up WAL Archiving" (backup.sgml) require: exit 0
 * only once the copy is durable, never overwrite, succeed when the archive
 * already holds identical content (the server re-archives after a crash), fail
 * when it holds different content.
 *
 * Order of writes: the file's object first (no-overwrite, atomic), its
 * checksum record second. A push that dies between the two leaves an object
 * without a record; the next push of the same file proves the content equal
 * by reading the object back, which needs a key that can read, and then
 * writes the missing record.
 *
 * pgb_wal_push_file() is that whole path for one file; the public call adds
 * the push-ahead markers around it (wal_push_ahead.c), so that a segment
 * pushed ahead is exactly as durable as one pushed by its own call.
 */
#include "wal/wal_push.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/wal.h>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/compress.h"
#include "storage/storage.h"
#include "wal/wal_file.h"
#include "wal/wal_push_ahead.h"
#include "wal/wal_spool.h"

enum { READ_BUFFER_SIZE = 256 * 1024 };

struct push {
    struct pgb_repo *repo;
    pgb_ctx *ctx;
    const char *path; /* as given, for messages */
    const char *name; /* its last component */
    int kind;
    uint32_t timeline;
    int fd;
    uint64_t size;
    char key[PGB_KEY_SIZE];
    char sum_key[PGB_KEY_SIZE];
    struct pgb_object_spec spec;
    uint8_t *buffer;
};

/* Receives each block of the file in order. */
typedef int (*block_fn)(void *payload, const uint8_t *data, size_t size);

/*
 * Read the whole file from its start, as fstat sized it, giving each block
 * to each. A file that changes size while read is refused: the server never
 * changes a file it archives, so something else is writing it.
 */
static int read_file(struct push *p, block_fn each, void *payload)
{
    uint64_t offset = 0;
    for (;;) {
        ssize_t got = pread(p->fd, p->buffer, READ_BUFFER_SIZE, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return pgb_error_set(p->ctx, PGB_EIO, "cannot read WAL file %s: %s", p->path, strerror(errno));
        if (got == 0)
            break;
        offset += (uint64_t)got;
        if (offset > p->size)
            break;
        int rc = each(payload, p->buffer, (size_t)got);
        if (rc != PGB_OK)
            return rc;
    }
    if (offset != p->size)
        return pgb_error_set(p->ctx, PGB_EIO, "WAL file %s changed size while it was read (%" PRIu64 " bytes, then "
                             "%s%" PRIu64 "): something else is writing it", p->path, p->size,
                             offset > p->size ? "more than " : "", offset);
    return PGB_OK;
}

static int hash_block(void *payload, const uint8_t *data, size_t size)
{
    return EVP_DigestUpdate(payload, data, size) == 1 ? PGB_OK : PGB_ERROR;
}

/* The SHA-256 and size of the local file. */
static int local_sum(struct push *p, struct pgb_wal_sum *sum)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return pgb_error_set(p->ctx, PGB_ERROR, "cannot compute SHA-256: OpenSSL failed");
    }
    int rc = read_file(p, hash_block, md);
    unsigned int length = 0;
    if (rc == PGB_OK && EVP_DigestFinal_ex(md, sum->sha256, &length) != 1)
        rc = PGB_ERROR;
    if (rc == PGB_ERROR)
        pgb_error_set(p->ctx, PGB_ERROR, "cannot compute SHA-256 of %s: OpenSSL failed", p->path);
    EVP_MD_CTX_free(md);
    sum->size = p->size;
    return rc;
}

/* The SHA-256 and size of the archived copy, read back through the pipeline. */
static int archived_sum(struct push *p, struct pgb_wal_sum *sum)
{
    pgb_object_reader *reader = NULL;
    int rc = pgb_object_reader_open(&reader, p->repo->storage, p->key, &p->repo->keys, NULL);
    uint64_t total = 0;
    while (rc == PGB_OK) {
        size_t got = 0;
        rc = pgb_object_reader_read(reader, p->buffer, READ_BUFFER_SIZE, &got);
        if (rc != PGB_OK || got == 0)
            break;
        total += got;
    }
    if (rc == PGB_OK)
        rc = pgb_object_reader_digest(reader, sum->sha256);
    pgb_object_reader_close(reader);
    sum->size = total;
    return rc;
}

/*
 * Different content under an archived name is refused, except for a partial
 * segment: a promoted server archives its old timeline's last segment as
 * <segment>.partial, which a WAL receiver may have stored already from the
 * stream. Recovery reads the switch segment from the new timeline, never from
 * this partial, so keeping the archived copy loses nothing, and refusing would
 * stall that server's archiver for ever.
 */
static int conflict(struct push *p, const struct pgb_wal_sum *local, struct pgb_wal_sum *pushed)
{
    if (p->kind == PGB_WAL_FILE_PARTIAL) {
        *pushed = *local;
        pgb_log(p->ctx, PGB_LOG_WARNING, "partial segment %s is archived already with other content (a WAL "
                "receiver's, or an earlier promotion's); the archived copy is kept", p->name);
        return PGB_OK;
    }
    return pgb_error_set(p->ctx, PGB_EEXISTS, "WAL file %s is already archived with different content; the "
                         "archived copy is kept (%s)", p->name, p->key);
}

static int identical(struct push *p, const struct pgb_wal_sum *local, struct pgb_wal_sum *pushed)
{
    *pushed = *local;
    pgb_log(p->ctx, PGB_LOG_INFO, "WAL file %s was archived already with identical content", p->name);
    return PGB_OK;
}

/* Write the checksum record; a record written meanwhile by another push must agree. */
static int write_sum(struct push *p, const struct pgb_wal_sum *sum)
{
    int rc = pgb_wal_sum_write(p->repo, p->sum_key, p->name, sum);
    if (rc != PGB_EEXISTS)
        return rc;
    pgb_error_clear(p->ctx);
    struct pgb_wal_sum recorded;
    rc = pgb_wal_sum_read(p->repo, p->sum_key, p->name, &recorded);
    if (rc == PGB_OK && !pgb_wal_sum_equal(&recorded, sum))
        rc = pgb_error_set(p->ctx, PGB_ECORRUPT, "checksum record %s disagrees with the archived copy of WAL file "
                           "%s: the archive is inconsistent, check it with pgbackup verify", p->sum_key, p->name);
    return rc;
}

/* The object exists: decide between an identical re-push (pushed set to its sum) and a conflict. */
static int settle_existing(struct push *p, struct pgb_wal_sum *pushed)
{
    struct pgb_wal_sum local, recorded;
    int rc = local_sum(p, &local);
    if (rc != PGB_OK)
        return rc;
    rc = pgb_wal_sum_read(p->repo, p->sum_key, p->name, &recorded);
    if (rc == PGB_OK)
        return pgb_wal_sum_equal(&local, &recorded) ? identical(p, &local, pushed) : conflict(p, &local, pushed);
    if (rc != PGB_ENOTFOUND)
        return rc;
    /* An earlier push died between the object and its record: compare the content itself, or refuse to guess. */
    pgb_error_clear(p->ctx);
    if (!pgb_repo_can_read(p->repo))
        return pgb_error_set(p->ctx, PGB_EAUTH, "WAL file %s is archived but has no checksum record (an earlier push "
                             "was interrupted), and this host holds only the writer key, so it cannot read the "
                             "archived copy to prove it identical: run wal-push %s once with --identity or "
                             "--passphrase-file", p->name, p->path);
    struct pgb_wal_sum archived;
    rc = archived_sum(p, &archived);
    if (rc != PGB_OK) {
        pgb_error_prefix(p->ctx, "cannot compare WAL file %s with its archived copy", p->name);
        return rc;
    }
    if (!pgb_wal_sum_equal(&local, &archived))
        return conflict(p, &local, pushed);
    rc = write_sum(p, &local);
    return rc == PGB_OK ? identical(p, &local, pushed) : rc;
}

static int write_block(void *payload, const uint8_t *data, size_t size)
{
    return pgb_object_writer_write(payload, data, size);
}

/* Store the file under its key; PGB_EEXISTS when it is there already. */
static int store(struct push *p, struct pgb_wal_sum *sum)
{
    pgb_object_writer *writer = NULL;
    int rc = pgb_object_writer_open(&writer, p->repo->storage, p->key, &p->repo->keys, &p->spec);
    if (rc != PGB_OK)
        return rc;
    rc = read_file(p, write_block, writer);
    if (rc != PGB_OK) {
        pgb_object_writer_abort(writer);
        return rc;
    }
    struct pgb_object_info info;
    rc = pgb_object_writer_commit(writer, &info);
    if (rc == PGB_OK) {
        memcpy(sum->sha256, info.sha256, sizeof(sum->sha256));
        sum->size = info.plain_size;
    }
    return rc;
}

/* Open the file and check that it is what its name says. */
static int open_file(struct push *p)
{
    p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
    if (p->fd < 0)
        return pgb_error_set(p->ctx, errno == ENOENT ? PGB_ENOTFOUND : PGB_EIO, "cannot open WAL file %s: %s",
                             p->path, strerror(errno));
    struct stat st;
    if (fstat(p->fd, &st) != 0)
        return pgb_error_set(p->ctx, PGB_EIO, "cannot stat WAL file %s: %s", p->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return pgb_error_set(p->ctx, PGB_EINVALID, "%s is not a regular file", p->path);
    p->size = (uint64_t)st.st_size;
    if (p->kind != PGB_WAL_FILE_SEGMENT && p->kind != PGB_WAL_FILE_PARTIAL)
        return PGB_OK;
    uint8_t header[PGB_WAL_LONG_HEADER_SIZE];
    ssize_t got = pread(p->fd, header, sizeof(header), 0);
    if (got < 0)
        return pgb_error_set(p->ctx, PGB_EIO, "cannot read WAL file %s: %s", p->path, strerror(errno));
    return pgb_wal_segment_check(p->ctx, p->path, p->name, header, (size_t)got, p->size);
}

int pgb_wal_push_spec(pgb_ctx *ctx, const pgb_options *opts, struct pgb_object_spec *spec)
{
    const char *compress = "zstd:3";
    if (opts)
        pgb_options_get(opts, "compress", &compress);
    *spec = (struct pgb_object_spec){.seal = PGB_SEAL_REPOSITORY, .flags = PGB_STORAGE_NO_OVERWRITE};
    return pgb_codec_parse(ctx, compress ? compress : "zstd:3", &spec->codec, &spec->level);
}

int pgb_wal_push_file(struct pgb_repo *repo, const char *path, const struct pgb_object_spec *spec,
                      struct pgb_wal_sum *pushed)
{
    pgb_ctx *ctx = repo->ctx;
    const char *slash = strrchr(path, '/');
    struct push p = {.repo = repo, .ctx = ctx, .path = path, .name = slash ? slash + 1 : path, .fd = -1,
                     .spec = *spec};
    struct pgb_wal_sum unused = {0};
    if (!pushed)
        pushed = &unused;
    int rc = pgb_wal_file_classify(ctx, path, p.name, &p.kind, &p.timeline);
    if (rc == PGB_OK)
        rc = open_file(&p);
    if (rc == PGB_OK && !(p.buffer = malloc(READ_BUFFER_SIZE)))
        rc = pgb_error_nomem(ctx);
    if (rc == PGB_OK) {
        pgb_wal_archive_key(repo, p.name, p.timeline, p.key);
        pgb_wal_sum_key(p.key, p.sum_key);
        rc = pgb_storage_stat(repo->storage, p.key, NULL);
        if (rc == PGB_OK) {
            rc = settle_existing(&p, pushed);
        } else if (rc == PGB_ENOTFOUND) {
            pgb_error_clear(ctx);
            rc = store(&p, pushed);
            if (rc == PGB_EEXISTS) { /* archived meanwhile by another push */
                pgb_error_clear(ctx);
                rc = settle_existing(&p, pushed);
            } else if (rc == PGB_OK) {
                rc = write_sum(&p, pushed);
                if (rc == PGB_OK)
                    pgb_log(ctx, PGB_LOG_DEBUG, "WAL %s %s archived as %s", pgb_wal_file_kind_name(p.kind), p.name,
                            p.key);
            }
        }
    }
    if (p.fd >= 0)
        close(p.fd);
    free(p.buffer);
    return rc;
}

/*
 * Whether an earlier call pushed this segment ahead, with this very content,
 * to this repository and cluster: then it is archived and durable already.
 */
static int pushed_ahead(const struct pgb_wal_spool *spool, const char *path, const char *name)
{
    struct pgb_wal_sum marked, local;
    return pgb_wal_spool_marked(spool, PGB_WAL_SPOOL_PUSHED, name, &marked) &&
           pgb_wal_spool_local_sum(path, &local) == 0 && pgb_wal_sum_equal(&marked, &local);
}

int pgb_wal_push_with_options(pgb_repo *repo, const char *path, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!path || !*path)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_wal_push: no path given");
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    int kind = 0;
    struct pgb_object_spec spec;
    struct pgb_wal_spool spool = {0};
    int rc = pgb_wal_file_classify(ctx, path, name, &kind, NULL);
    if (rc == PGB_OK)
        rc = pgb_wal_push_spec(ctx, opts, &spec);
    int segment = rc == PGB_OK && kind == PGB_WAL_FILE_SEGMENT;
    if (segment)
        rc = pgb_wal_spool_init(&spool, repo, opts, path);
    if (rc == PGB_OK && segment && pushed_ahead(&spool, path, name)) {
        pgb_log(ctx, PGB_LOG_DEBUG, "WAL segment %s was archived ahead by an earlier wal-push", name);
        pgb_wal_spool_unmark(&spool, PGB_WAL_SPOOL_PUSHED, name);
        pgb_wal_spool_free(&spool);
        return PGB_OK;
    }
    if (rc == PGB_OK)
        rc = pgb_wal_check_cluster(repo);
    struct pgb_wal_push_ahead *ahead = NULL;
    if (rc == PGB_OK && segment)
        ahead = pgb_wal_push_ahead_start(repo, path, &spec, &spool, opts);
    if (rc == PGB_OK)
        rc = pgb_wal_push_file(repo, path, &spec, NULL);
    /* Only the file's own push decides the result: what failed ahead is logged, and pushed by its own call. */
    pgb_wal_push_ahead_finish(ahead);
    /* Our own marker that did not match the file is stale; one of another repository or cluster is its owner's. */
    struct pgb_wal_sum stale;
    if (spool.folder && pgb_wal_spool_marked(&spool, PGB_WAL_SPOOL_PUSHED, name, &stale))
        pgb_wal_spool_unmark(&spool, PGB_WAL_SPOOL_PUSHED, name);
    if (spool.folder)
        pgb_wal_spool_clean(&spool, PGB_WAL_SPOOL_PUSHED, name);
    pgb_wal_spool_free(&spool);
    return rc;
}

int pgb_wal_push(pgb_repo *repo, const char *path)
{
    return pgb_wal_push_with_options(repo, path, NULL);
}
