/*
 * Push-ahead: while wal-push archives the file the server called it for, it
 * also archives, in parallel, the segments the server has ready after it
 * (pg_wal/archive_status/<name>.ready), and leaves a marker for each in the
 * spool. The server's own call for such a segment then finds the marker and
 * returns at once (pgb_wal_push_with_options()). This keeps archiving ahead
 * of a busy server, where one call at a time, each waiting for the
 * repository, would fall behind.
 *
 * Only segments are pushed ahead: timeline history files come first in the
 * archiver's order anyway (pgarch.c), and backup history and partial files
 * are rare and small.
 */
#ifndef PGB_WAL_WAL_PUSH_AHEAD_H
#define PGB_WAL_WAL_PUSH_AHEAD_H

#include <pgbackup/options.h>

#include "pipeline/object.h"
#include "repo/repo.h"
#include "wal/wal_spool.h"

struct pgb_wal_push_ahead;

/*
 * Start pushing ahead of the segment at path, when opts asks for it: "jobs"
 * 2 or more workers, for up to "push-ahead" segments (default 4 x jobs) that
 * sort after path's name, are ready, and carry no marker of this spool yet.
 * spec and spool must outlive the push-ahead.
 *
 * @return the push-ahead under way, or NULL when there is none (nothing to
 *         do, or it could not start: logged as a warning). Never an error:
 *         repo's error state is left clear.
 */
struct pgb_wal_push_ahead *pgb_wal_push_ahead_start(struct pgb_repo *repo, const char *path,
                                                    const struct pgb_object_spec *spec,
                                                    const struct pgb_wal_spool *spool, const pgb_options *opts);

/*
 * Wait until it is done, log each segment that could not be pushed ahead (a
 * warning: the server's own call for it pushes it), and free it. NULL is fine.
 */
void pgb_wal_push_ahead_finish(struct pgb_wal_push_ahead *ahead);

#endif
