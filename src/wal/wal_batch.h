/*
 * A batch of WAL files handled on worker threads while the calling thread
 * handles the file it was called for (push-ahead, prefetch). Each worker has
 * its own context, storage handle and repository view, and takes the next
 * file of the list until none is left. Nothing a worker does reaches the
 * caller's context: each file's outcome stays in its item, for the caller to
 * log once the batch is finished.
 */
#ifndef PGB_WAL_WAL_BATCH_H
#define PGB_WAL_WAL_BATCH_H

#include <stddef.h>

#include "repo/repo.h"
#include "wal/wal_file.h"

/* The outcome of an item that never ran (canceled, or after the end of the archive). */
#define PGB_WAL_BATCH_SKIPPED 1

struct pgb_wal_batch_item {
    char name[PGB_WAL_FILE_NAME_MAX + 1];
    int rc;         /* PGB_OK, a PGB_E* code, or PGB_WAL_BATCH_SKIPPED */
    char why[512];  /* the worker's message when rc is a failure */
};

/* Handle one file through a worker's repository view; errors go to the view's context. */
typedef int (*pgb_wal_batch_fn)(struct pgb_repo *worker, const char *name, void *payload);

struct pgb_wal_batch;

/*
 * Start up to workers threads over items (which must outlive the batch).
 * With stop_at_not_found, an item that ends in PGB_ENOTFOUND keeps the items
 * after it from starting. what names the batch in the log ("push-ahead").
 *
 * @return the batch, or NULL when it cannot start: storage made of callbacks
 *         (one handle only), or a worker that cannot open; the reason is
 *         logged in repo's context, whose error state is left clear
 */
struct pgb_wal_batch *pgb_wal_batch_start(struct pgb_repo *repo, int workers, struct pgb_wal_batch_item *items,
                                          size_t count, int stop_at_not_found, pgb_wal_batch_fn fn, void *payload,
                                          const char *what);

/* Wait until every worker is done, close their handles, free the batch. NULL is fine. */
void pgb_wal_batch_finish(struct pgb_wal_batch *batch);

#endif
