/*
 * Prefetch: while wal-fetch restores the segment recovery asked for, it also
 * fetches the segments after it on the same timeline, in parallel, into the
 * spool, so that recovery is not bound by one repository round trip per
 * segment: the next calls are served from the spool
 * (pgb_wal_fetch_with_options()). Each is a complete archived segment (never
 * a partial one standing in for it), written through a temporary file,
 * synced, renamed, and then marked with the SHA-256 authenticated while it
 * was read. Prefetch stops at the first segment that is not archived: the end
 * of the archive, or of the timeline.
 */
#ifndef PGB_WAL_WAL_PREFETCH_H
#define PGB_WAL_WAL_PREFETCH_H

#include <stdint.h>

#include "repo/repo.h"
#include "wal/wal_spool.h"

/* Most threads one prefetch runs, however many segments it fetches. */
#define PGB_WAL_PREFETCH_MAX_THREADS 16

struct pgb_wal_prefetch;

/*
 * Start fetching the count segments after the segment name (whose size is
 * segment_size) into spool, skipping those it holds already; spool must
 * outlive the prefetch.
 *
 * @return the prefetch under way, or NULL when there is none (nothing to do,
 *         or it could not start: logged as a warning). Never an error:
 *         repo's error state is left clear.
 */
struct pgb_wal_prefetch *pgb_wal_prefetch_start(struct pgb_repo *repo, const char *name, uint64_t segment_size,
                                                const struct pgb_wal_spool *spool, int count);

/* Wait until it is done, log what failed (a warning), and free it. NULL is fine. */
void pgb_wal_prefetch_finish(struct pgb_wal_prefetch *prefetch);

#endif
