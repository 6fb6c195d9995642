#include "repo/pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "pipeline/storage_stream.h"

struct pgb_pack_writer {
    struct pgb_repo *repo;
    struct pgb_object_spec spec;
    uint64_t target_size;
    /* The pack being written, if any. */
    pgb_storage_writer *storage_writer;
    pgb_sink *sink;
    char pack[PGB_PACK_ID_SIZE];
    uint64_t offset;
    uint64_t committed_bytes;
};

void pgb_pack_key(const struct pgb_repo *repo, const char *pack, char out[PGB_KEY_SIZE])
{
    char suffix[64];
    snprintf(suffix, sizeof(suffix), "packs/%.2s/%s", pack, pack);
    pgb_repo_cluster_key(repo, suffix, out);
}

int pgb_pack_writer_new(pgb_pack_writer **out, struct pgb_repo *repo, int codec, int level, uint64_t target_size)
{
    pgb_pack_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return pgb_error_nomem(repo->ctx);
    w->repo = repo;
    /* Content is sealed for the repository key: a writing host holding only the writer key cannot read it. */
    w->spec = (struct pgb_object_spec){.codec = codec, .level = level, .seal = PGB_SEAL_REPOSITORY};
    w->target_size = target_size;
    *out = w;
    return PGB_OK;
}

static int start_pack(pgb_pack_writer *w)
{
    uint8_t random[16];
    if (RAND_bytes(random, sizeof(random)) != 1)
        return pgb_error_set(w->repo->ctx, PGB_ERROR, "cannot name a new pack: no random bytes");
    pgb_hex_encode(random, sizeof(random), w->pack);
    char key[PGB_KEY_SIZE];
    pgb_pack_key(w->repo, w->pack, key);
    int rc = pgb_storage_writer_open(&w->storage_writer, w->repo->storage, key, PGB_STORAGE_NO_OVERWRITE);
    if (rc == PGB_OK)
        rc = pgb_storage_sink_new(w->repo->ctx, w->storage_writer, &w->sink);
    if (rc != PGB_OK) {
        pgb_storage_writer_abort(w->storage_writer);
        w->storage_writer = NULL;
    }
    w->offset = 0;
    return rc;
}

static int commit_pack(pgb_pack_writer *w)
{
    pgb_sink_destroy(w->sink);
    w->sink = NULL;
    int rc = pgb_storage_writer_commit(w->storage_writer);
    w->storage_writer = NULL;
    if (rc == PGB_OK)
        w->committed_bytes += w->offset;
    return rc;
}

int pgb_pack_writer_add_frame(pgb_pack_writer *w, const void *frame, size_t frame_size, uint64_t plain_size,
                              struct pgb_chunk_ref *ref)
{
    int rc = w->storage_writer ? PGB_OK : start_pack(w);
    pgb_object_encoder *encoder = NULL;
    char name[PGB_KEY_SIZE + 32];
    snprintf(name, sizeof(name), "chunk at %llu of pack %s", (unsigned long long)w->offset, w->pack);
    struct pgb_object_spec spec = w->spec;
    spec.precompressed = 1;
    if (rc == PGB_OK)
        rc = pgb_object_encoder_new(&encoder, w->repo->ctx, w->sink, name, &w->repo->keys, &spec);
    if (rc == PGB_OK)
        rc = pgb_object_encoder_write(encoder, frame, frame_size);
    struct pgb_object_info info;
    if (rc == PGB_OK)
        rc = pgb_object_encoder_finish(encoder, &info);
    pgb_object_encoder_free(encoder);
    if (rc != PGB_OK)
        return rc;
    memset(ref, 0, sizeof(*ref));
    memcpy(ref->pack, w->pack, sizeof(ref->pack));
    ref->offset = w->offset;
    ref->length = info.stored_size;
    ref->plain_size = plain_size;
    w->offset += info.stored_size;
    return w->offset >= w->target_size ? commit_pack(w) : PGB_OK;
}

int pgb_pack_writer_finish(pgb_pack_writer *w)
{
    return w->storage_writer ? commit_pack(w) : PGB_OK;
}

void pgb_pack_writer_free(pgb_pack_writer *w)
{
    if (!w)
        return;
    pgb_sink_destroy(w->sink);
    pgb_storage_writer_abort(w->storage_writer);
    free(w);
}

uint64_t pgb_pack_writer_stored_bytes(const pgb_pack_writer *w)
{
    return w->committed_bytes + (w->storage_writer ? w->offset : 0);
}

int pgb_chunk_reader_open(pgb_object_reader **out, struct pgb_repo *repo, const struct pgb_chunk_ref *ref)
{
    char key[PGB_KEY_SIZE], name[PGB_KEY_SIZE + 48];
    pgb_pack_key(repo, ref->pack, key);
    snprintf(name, sizeof(name), "chunk at %llu of pack %s", (unsigned long long)ref->offset, key);
    return pgb_object_reader_open_range(out, repo->storage, key, ref->offset, ref->length, name, &repo->keys,
                                        NULL);
}

int pgb_chunk_read_whole(struct pgb_repo *repo, const struct pgb_chunk_ref *ref, pgb_chunk_decompressor *d,
                         uint8_t *out, size_t out_size, size_t *got)
{
    char key[PGB_KEY_SIZE], name[PGB_KEY_SIZE + 48];
    pgb_pack_key(repo, ref->pack, key);
    snprintf(name, sizeof(name), "chunk at %llu of pack %s", (unsigned long long)ref->offset, key);
    pgb_object_reader *r = NULL;
    int rc = pgb_object_reader_open_frame(&r, repo->storage, key, ref->offset, ref->length, name, &repo->keys);
    if (rc == PGB_OK)
        rc = pgb_chunk_decompress(d, r, name, out, out_size, got);
    pgb_object_reader_close(r);
    return rc;
}
