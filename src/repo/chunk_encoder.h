/*
 * Threads that compress, name, encrypt and store chunks while the calling
 * thread goes on reading and hashing the next ones: the two halves of a
 * stream-mode backup then overlap instead of adding up, and with more threads
 * the encoding is spread over more cores. Chunks come back in the order they
 * were queued, with where they were stored.
 */
#ifndef PGB_REPO_CHUNK_ENCODER_H
#define PGB_REPO_CHUNK_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/chunk_compress.h"
#include "repo/file_list.h"

typedef struct pgb_chunk_encoder pgb_chunk_encoder;

/*
 * What the thread does with one chunk, with its own repository view,
 * compressor and pack writer: store it or find it stored already (*reused).
 */
typedef int (*pgb_chunk_store_fn)(void *payload, struct pgb_repo *repo, pgb_chunk_compressor *compressor,
                                  pgb_pack_writer *packs, const uint8_t *data, size_t size,
                                  struct pgb_stored_chunk *stored, int *reused);

/* Receives a stored chunk on the calling thread; entry and chunk are the numbers given at submit. */
typedef int (*pgb_chunk_done_fn)(void *payload, size_t entry, size_t chunk, const struct pgb_stored_chunk *stored,
                                 int reused);

/*
 * Start threads (at least one), each with its own context, storage handle on
 * repo's storage (reopened by URL), packs and compressor. *out is NULL, with
 * no error, for a storage made of callbacks, which serves one thread: the
 * caller then stores chunks itself. store runs on the threads, several at
 * once, and must be safe to call beside the caller and itself.
 */
int pgb_chunk_encoder_start(pgb_chunk_encoder **out, struct pgb_repo *repo, int codec, int level, int threads,
                            pgb_chunk_store_fn store, void *store_payload);

/*
 * Queue one chunk of size bytes held in *buffer (PGB_CHUNK_SIZE bytes): the
 * buffer goes to the queue and *buffer gets a free one back, so nothing is
 * copied. Blocks while the queue is full, handing finished chunks to done
 * first. Returns the first error of the thread, if any.
 */
int pgb_chunk_encoder_submit(pgb_chunk_encoder *e, uint8_t **buffer, size_t size, size_t entry,
                             size_t chunk_number, pgb_chunk_done_fn done, void *payload);

/* Wait for every queued chunk, hand them to done, stop the threads and commit their last packs. */
int pgb_chunk_encoder_finish(pgb_chunk_encoder *e, pgb_chunk_done_fn done, void *payload);

/* Bytes the threads wrote to storage. */
uint64_t pgb_chunk_encoder_stored_bytes(const pgb_chunk_encoder *e);

/* Stop the threads if running and free everything (committed packs stay). */
void pgb_chunk_encoder_free(pgb_chunk_encoder *e);

#endif
