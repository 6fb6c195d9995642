/*
 * Packs (doc/repository-format.md, "Backup content"): backup content is cut
 * into chunks, each stored as its own object (header, compressed, encrypted)
 * appended to a pack of a few tens of MiB. A chunk is found again by (pack,
 * offset, length), so one file can be read without the rest of its pack, and
 * object stores hold few large objects instead of one per 8 KiB relation file.
 */
#ifndef PGB_REPO_PACK_H
#define PGB_REPO_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/chunk_decompress.h"
#include "pipeline/object.h"
#include "repo/repo.h"

enum { PGB_PACK_ID_SIZE = 33 }; /* 32 hex digits and NUL */

/* Where a chunk lives. */
struct pgb_chunk_ref {
    char pack[PGB_PACK_ID_SIZE];
    uint64_t offset;     /* of the chunk's object inside the pack */
    uint64_t length;     /* stored bytes of that object */
    uint64_t plain_size; /* bytes of the chunk */
    uint8_t sha256[32];  /* of the chunk's bytes, in file lists of format 1; zero otherwise */
};

typedef struct pgb_pack_writer pgb_pack_writer;

/* Start writing packs of at most target_size bytes (the last chunk may overshoot). */
int pgb_pack_writer_new(pgb_pack_writer **out, struct pgb_repo *repo, int codec, int level, uint64_t target_size);

/*
 * Store one chunk given as one compressed frame (pgb_chunk_compress) of
 * plain_size bytes of content; ref says where it went. The pack is committed
 * once full.
 */
int pgb_pack_writer_add_frame(pgb_pack_writer *w, const void *frame, size_t frame_size, uint64_t plain_size,
                              struct pgb_chunk_ref *ref);

/* Commit the pack being written, if any. Refs handed out before are valid only after this. */
int pgb_pack_writer_finish(pgb_pack_writer *w);

/* Abort the pack being written and free the writer (committed packs stay: expire removes them). */
void pgb_pack_writer_free(pgb_pack_writer *w);

/* Bytes written to storage so far, in committed and current packs. */
uint64_t pgb_pack_writer_stored_bytes(const pgb_pack_writer *w);

/* The storage key of a pack. */
void pgb_pack_key(const struct pgb_repo *repo, const char *pack, char out[PGB_KEY_SIZE]);

/*
 * Open the chunk at ref for reading. Its authentication (or, unencrypted, its
 * stored-bytes trailer) is checked as it streams; its content is not: readers
 * check it against the file's SHA-256 chain (or, format 1, the file's SHA-256).
 */
int pgb_chunk_reader_open(pgb_object_reader **out, struct pgb_repo *repo, const struct pgb_chunk_ref *ref);

/*
 * Read the chunk at ref whole into out (at least ref->plain_size + 1 bytes,
 * so that a chunk decoding longer than recorded is caught), authenticated,
 * decrypted and decoded with d; *got is its size. Its content is not checked:
 * see repo/chunk_check.h.
 */
int pgb_chunk_read_whole(struct pgb_repo *repo, const struct pgb_chunk_ref *ref, pgb_chunk_decompressor *d,
                         uint8_t *out, size_t out_size, size_t *got);

#endif
