/*
 * Reading a file to its end on a thread of its own while the caller consumes
 * what was read: for one large file hashed on one core, the copying out of
 * the page cache then runs on another core instead of adding to the time.
 */
#ifndef PGB_CORE_READ_AHEAD_H
#define PGB_CORE_READ_AHEAD_H

#include <stddef.h>
#include <stdint.h>

/* Receives the file's bytes in order, block by block (the last one may be shorter). */
typedef void (*pgb_read_ahead_fn)(void *payload, const uint8_t *data, size_t size);

/*
 * Read fd from its current offset to its end in blocks of block_size bytes,
 * up to `blocks` of them ahead of consume, which runs on the calling thread.
 * Returns 0 at the end of the file; an errno value when a read failed (what
 * came before was consumed); ENOMEM, or EAGAIN when no thread could be
 * started (nothing was read: the caller reads the file itself).
 */
int pgb_read_ahead(int fd, size_t block_size, int blocks, pgb_read_ahead_fn consume, void *payload);

#endif
