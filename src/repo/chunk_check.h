/*
 * Checking one chunk's bytes on their own, against its file's entry: with
 * links (format 2) the file's SHA-256 chain is resumed at the link before the
 * chunk and must reach the chunk's own link (the file's SHA-256 for its last
 * chunk); without (format 1) the chunk's SHA-256 must match. Checking every
 * chunk of a chained file this way proves the file's SHA-256, in any order
 * and on any thread.
 */
#ifndef PGB_REPO_CHUNK_CHECK_H
#define PGB_REPO_CHUNK_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/chunk_decompress.h"
#include "repo/file_list.h"
#include "repo/repo.h"

/* Where chunk index starts in the file: the sum of the plain sizes before it. */
uint64_t pgb_chunk_offset(const struct pgb_file_entry *e, size_t index);

/* 1 when data (size bytes, chunk index at offset) is what the entry recorded, else 0. */
int pgb_chunk_matches(const struct pgb_file_entry *e, size_t index, uint64_t offset, const uint8_t *data,
                      size_t size);

/*
 * Read chunk index of e (at offset in the file) whole into buffer, which has
 * room for PGB_CHUNK_SIZE + 1 bytes (a chunk decoding longer than recorded is
 * caught), decoded with d, and check it with pgb_chunk_matches. *got is its
 * size. Damage is PGB_ECORRUPT naming the chunk and the file.
 */
int pgb_chunk_read_checked(struct pgb_repo *repo, const struct pgb_file_entry *e, size_t index, uint64_t offset,
                           pgb_chunk_decompressor *d, uint8_t *buffer, size_t *got);

#endif
