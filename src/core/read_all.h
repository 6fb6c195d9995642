/*
 * Reading a whole stream into memory, for the small objects read whole
 * (records, keyrings) whatever kind of reader they come from.
 */
#ifndef PGB_CORE_READ_ALL_H
#define PGB_CORE_READ_ALL_H

#include <stddef.h>

#include <pgbackup/common.h>

/* Reads up to size bytes; *got = 0 only at the end. */
typedef int (*pgb_read_fn)(void *reader, void *buffer, size_t size, size_t *got);

/*
 * Read everything from reader. *data is NUL-terminated (the NUL not counted in
 * *size) and freed with free(); on failure it is NULL and the reader's error stands.
 */
int pgb_read_all(pgb_ctx *ctx, pgb_read_fn read, void *reader, void **data, size_t *size);

#endif
