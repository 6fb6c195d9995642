#include "logical/backup_files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/progress.h"
#include "repo/pack.h"
#include "repo/chunk_check.h"
#include "repo/content_writer.h"

enum { BUFFER_SIZE = 1 << 20 };

const struct pgb_file_entry *pgb_backup_file_find(const struct pgb_file_list *list, const char *path)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->entries[i].type == PGB_FILE_REGULAR && strcmp(list->entries[i].path, path) == 0)
            return &list->entries[i];
    return NULL;
}

int pgb_backup_file_stream(struct pgb_repo *repo, const struct pgb_file_entry *e, pgb_backup_file_sink sink,
                           void *payload)
{
    pgb_ctx *ctx = repo->ctx;
    uint8_t *buffer = malloc(BUFFER_SIZE);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = buffer && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? PGB_OK : pgb_error_nomem(ctx);
    for (size_t i = 0; rc == PGB_OK && i < e->chunk_count; i++) {
        pgb_object_reader *r = NULL;
        rc = pgb_chunk_reader_open(&r, repo, &e->chunks[i].ref);
        size_t got = 0;
        while (rc == PGB_OK && (rc = pgb_object_reader_read(r, buffer, BUFFER_SIZE, &got)) == PGB_OK && got) {
            EVP_DigestUpdate(md, buffer, got);
            rc = sink(payload, buffer, got);
        }
        pgb_object_reader_close(r);
        if (rc == PGB_OK)
            rc = pgb_check_canceled(ctx);
    }
    uint8_t digest[32];
    unsigned int size = 0;
    if (rc == PGB_OK && (EVP_DigestFinal_ex(md, digest, &size) != 1 || CRYPTO_memcmp(digest, e->sha256, 32) != 0))
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "%s read back from the repository does not match its SHA-256", e->path);
    EVP_MD_CTX_free(md);
    free(buffer);
    return rc;
}

struct memory_sink {
    pgb_ctx *ctx;
    char *data;
    size_t size, capacity;
};

static int to_memory(void *payload, const void *data, size_t size)
{
    struct memory_sink *m = payload;
    if (m->size + size + 1 > m->capacity) {
        size_t capacity = m->capacity ? m->capacity : 65536;
        while (capacity < m->size + size + 1)
            capacity *= 2;
        char *grown = realloc(m->data, capacity);
        if (!grown)
            return pgb_error_nomem(m->ctx);
        m->data = grown;
        m->capacity = capacity;
    }
    memcpy(m->data + m->size, data, size);
    m->size += size;
    return PGB_OK;
}

int pgb_backup_file_read(struct pgb_repo *repo, const struct pgb_file_entry *e, char **data, size_t *size)
{
    struct memory_sink m = {.ctx = repo->ctx};
    *data = NULL;
    int rc = pgb_backup_file_stream(repo, e, to_memory, &m);
    if (rc == PGB_OK && !m.data && !(m.data = malloc(1)))
        rc = pgb_error_nomem(repo->ctx);
    if (rc != PGB_OK) {
        free(m.data);
        return rc;
    }
    m.data[m.size] = '\0';
    *data = m.data;
    if (size)
        *size = m.size;
    return PGB_OK;
}

static int pwrite_all(pgb_ctx *ctx, int fd, const uint8_t *data, size_t size, uint64_t offset)
{
    while (size > 0) {
        ssize_t n = pwrite(fd, data, size, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return pgb_error_set(ctx, PGB_EIO, "cannot write the restore's copy of the dump: %s", strerror(errno));
        data += n;
        size -= (size_t)n;
        offset += (uint64_t)n;
    }
    return PGB_OK;
}

static int overlaps(const struct pgb_byte_range *ranges, size_t count, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < count; i++)
        if (ranges[i].offset < end && ranges[i].offset + ranges[i].length > start)
            return 1;
    return 0;
}

int pgb_backup_file_write_ranges(struct pgb_repo *repo, const struct pgb_file_entry *e, int fd,
                                 const struct pgb_byte_range *ranges, size_t count, uint64_t *written)
{
    pgb_ctx *ctx = repo->ctx;
    *written = 0;
    uint8_t *buffer = malloc(PGB_CHUNK_SIZE + 1);
    pgb_chunk_decompressor *decompressor = NULL;
    int rc = buffer ? pgb_chunk_decompressor_new(ctx, &decompressor) : pgb_error_nomem(ctx);
    uint64_t start = 0;
    for (size_t i = 0; rc == PGB_OK && i < e->chunk_count; i++) {
        uint64_t end = start + e->chunks[i].ref.plain_size;
        if (overlaps(ranges, count, start, end)) {
            /* A part of the file: its SHA-256 cannot be checked, each chunk's can. */
            size_t got = 0;
            rc = pgb_chunk_read_checked(repo, e, i, start, decompressor, buffer, &got);
            if (rc == PGB_OK)
                rc = pwrite_all(ctx, fd, buffer, got, start);
            if (rc == PGB_OK)
                rc = pgb_check_canceled(ctx);
            *written += got;
        }
        start = end;
    }
    if (rc == PGB_OK && ftruncate(fd, (off_t)e->size) != 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot size the restore's copy of the dump: %s", strerror(errno));
    pgb_chunk_decompressor_free(decompressor);
    free(buffer);
    return rc;
}
