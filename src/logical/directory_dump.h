/*
 * A database dumped in directory format: pg_dump -Fd -j N writes one file per
 * table's data into a private spool folder, in parallel; each file is stored
 * in the repository as soon as pg_dump closes it (inotify IN_CLOSE_WRITE) and
 * removed from the spool, so the spool never holds much more than what the
 * workers are writing. The files become databases/<name>/dir/<file>; toc.dat
 * (written first, naming each entry's data file) also gives the TOC and, with
 * pg_restore -l -v, the listing.
 */
#ifndef PGB_LOGICAL_DIRECTORY_DUMP_H
#define PGB_LOGICAL_DIRECTORY_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "logical/archive_toc.h"
#include "logical/logical_session.h"

/*
 * Dump database name (its program conninfo in conninfo) with s->job->jobs
 * workers. On success toc holds the parsed toc.dat (clear it with
 * pgb_archive_toc_clear), *listing pg_restore -l -v of it (free with free()),
 * *size the bytes of every file stored.
 */
int pgb_directory_dump(struct logical_session *s, const char *name, const char *conninfo,
                       struct pgb_archive_toc *toc, char **listing, size_t *listing_size, uint64_t *size);

#endif
