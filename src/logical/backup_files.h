/*
 * Reading the files of a logical or globals backup back out of the
 * repository: small ones whole into memory, a dump as a stream (into
 * pg_restore's stdin or a private file), or only some byte ranges of it (the
 * TOC and the data blocks a selective restore needs) written at their own
 * offsets into a sparse file. Every chunk is authenticated as it is read; a
 * whole read is checked against the file's SHA-256, a partial one chunk by
 * chunk.
 */
#ifndef PGB_LOGICAL_BACKUP_FILES_H
#define PGB_LOGICAL_BACKUP_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "repo/file_list.h"

/* The entry of path in list, or NULL. */
const struct pgb_file_entry *pgb_backup_file_find(const struct pgb_file_list *list, const char *path);

/* Read a whole file; *data is NUL-terminated, freed with free(). */
int pgb_backup_file_read(struct pgb_repo *repo, const struct pgb_file_entry *e, char **data, size_t *size);

/* Receives the file's bytes in order; a non-zero return stops the read with that code. */
typedef int (*pgb_backup_file_sink)(void *payload, const void *data, size_t size);

/* Stream a whole file into sink. */
int pgb_backup_file_stream(struct pgb_repo *repo, const struct pgb_file_entry *e, pgb_backup_file_sink sink,
                           void *payload);

struct pgb_byte_range {
    uint64_t offset, length;
};

/*
 * Write the chunks of e that hold any byte of ranges into fd, each at its own
 * offset in the file (what lies between stays a hole), and make the file
 * e->size bytes long. *written gets the bytes written.
 */
int pgb_backup_file_write_ranges(struct pgb_repo *repo, const struct pgb_file_entry *e, int fd,
                                 const struct pgb_byte_range *ranges, size_t count, uint64_t *written);

#endif
