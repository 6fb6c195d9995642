/*
 * Restoring one archived WAL file (restore_command). PostgreSQL reads any
 * failure but a signal or an exit status above 125 as "no such file", and at
 * the end of the archive that means "recovery is complete, promote"
 * (postgres-internals.md section 9, backup.sgml "Recovering Using a Continuous
 * Archive Backup"). So PGB_ENOTFOUND is returned only when the repository
 * answered and the file is certainly absent; everything else is another code,
 * and the CLI turns it into exit status 126, which stops recovery.
 *
 * The destination exists only once complete: the content goes to a temporary
 * file beside it, is synced, then renamed into place, and the folder synced
 * (wal_read.c). A segment prefetched by an earlier call is renamed from the
 * spool instead, once its content proves to be what its marker recorded.
 */
#include <errno.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/wal.h>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "pg/lsn.h"
#include "storage/storage.h"
#include "wal/wal_prefetch.h"
#include "wal/wal_read.h"
#include "wal/wal_spool.h"

/*
 * Serve name from the spool when an earlier call prefetched it from this
 * repository and cluster and the spooled bytes are still the ones fetched.
 * Anything else is not served: no entry, a torn marker or one of another
 * repository or cluster (left for its owner, or cleaned once older), content
 * that differs from its marker or a spool on another filesystem (removed).
 * *served says whether destination now holds it; the return value is a
 * failure to make it durable there.
 */
static int serve_from_spool(struct pgb_repo *repo, const struct pgb_wal_spool *spool, const char *name,
                            const char *destination, int *served)
{
    *served = 0;
    struct pgb_wal_sum marked, held;
    if (!pgb_wal_spool_marked(spool, PGB_WAL_SPOOL_FETCHED, name, &marked))
        return PGB_OK;
    char *segment = pgb_wal_spool_path(spool, name, ".segment");
    char *copy = pgb_text_dup(destination);
    if (!segment || !copy) {
        free(segment);
        free(copy);
        return pgb_error_nomem(repo->ctx);
    }
    int rc = PGB_OK;
    if (pgb_wal_spool_local_sum(segment, &held) != 0 || !pgb_wal_sum_equal(&marked, &held)) {
        pgb_log(repo->ctx, PGB_LOG_WARNING, "the prefetched copy of WAL segment %s in %s does not match its marker: "
                "fetching it from the repository", name, spool->folder);
    } else if (rename(segment, destination) != 0) {
        pgb_log(repo->ctx, PGB_LOG_WARNING, "cannot move the prefetched copy of WAL segment %s into %s (%s): "
                "fetching it from the repository", name, destination, strerror(errno));
    } else {
        *served = 1;
        rc = pgb_wal_sync_folder(repo->ctx, dirname(copy));
        if (rc == PGB_OK)
            pgb_log(repo->ctx, PGB_LOG_DEBUG, "WAL segment %s served from the spool %s", name, spool->folder);
    }
    pgb_wal_spool_unmark(spool, PGB_WAL_SPOOL_FETCHED, name);
    free(segment);
    free(copy);
    return rc;
}

/* The "prefetch" option: how many segments to fetch ahead (0 when opts is NULL or leaves it unset). */
static int prefetch_count(const pgb_options *opts)
{
    int64_t count = 0;
    if (!opts || pgb_options_get_int(opts, "prefetch", &count) != PGB_OK || count < 0)
        return 0;
    return count > INT32_MAX ? INT32_MAX : (int)count;
}

/* How often, and how far apart, fetch_partial looks again. */
enum { PARTIAL_ATTEMPTS = 5, PARTIAL_RETRY_MS = 200 };

/*
 * Serve segment name from its partial segment into destination. A WAL
 * receiver replaces the partial as WAL arrives (object, then record) and
 * removes it once the whole segment is stored (record, then object), so a
 * read between two of its writes can find record and object disagreeing, or
 * the partial gone because the segment just arrived: each attempt looks for
 * the segment first, then the partial, and only the last attempt's failure
 * counts. PGB_ENOTFOUND when neither is archived.
 */
static int fetch_partial(struct pgb_repo *repo, const char *name, uint32_t timeline, const char *destination)
{
    char partial_name[PGB_WAL_FILE_NAME_MAX + 1];
    snprintf(partial_name, sizeof(partial_name), "%s.partial", name);
    int rc = PGB_OK;
    for (int attempt = 1; attempt <= PARTIAL_ATTEMPTS; attempt++) {
        if (attempt > 1)
            pgb_error_clear(repo->ctx);
        if (rc == PGB_ECORRUPT) { /* give the receiver time to write the record after the object */
            struct timespec pause = {0, PARTIAL_RETRY_MS * 1000000L};
            nanosleep(&pause, NULL);
        }
        struct pgb_wal_archived found;
        pgb_object_reader *reader = NULL;
        const char *served = name;
        rc = attempt > 1 ? pgb_wal_archived_open(repo, name, timeline, &found, &reader) : PGB_ENOTFOUND;
        if (rc == PGB_ENOTFOUND) {
            pgb_error_clear(repo->ctx);
            served = partial_name;
            rc = pgb_wal_archived_open(repo, partial_name, timeline, &found, &reader);
        }
        if (rc == PGB_OK)
            rc = pgb_wal_archived_copy(repo, reader, &found, destination, NULL);
        pgb_object_reader_close(reader);
        if (rc == PGB_OK && served == partial_name)
            pgb_log(repo->ctx, PGB_LOG_INFO, "WAL segment %s was archived only as %s: served its content", name,
                    partial_name);
        /* Not found after the segment was looked for again is "not archived"; damage is damage once it stays. */
        if (rc == PGB_OK || (rc == PGB_ENOTFOUND && attempt > 1) || (rc != PGB_ENOTFOUND && rc != PGB_ECORRUPT))
            return rc;
    }
    return rc;
}

int pgb_wal_fetch_with_options(pgb_repo *repo, const char *name, const char *destination, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!name || !destination || !*destination)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_wal_fetch: %s is missing", name ? "destination" : "name");
    int kind = 0;
    uint32_t timeline = 0;
    if (strchr(name, '/'))
        return pgb_error_set(ctx, PGB_EINVALID, "%s is not a WAL file name: it has a folder", name);
    int rc = pgb_wal_file_classify(ctx, NULL, name, &kind, &timeline);
    int segment = rc == PGB_OK && kind == PGB_WAL_FILE_SEGMENT;
    /* Only segments go through the spool: history files are small, and must always be the archive's own answer. */
    struct pgb_wal_spool spool = {0};
    if (segment)
        rc = pgb_wal_spool_init(&spool, repo, opts, destination);
    if (segment && rc == PGB_OK) {
        int served = 0;
        rc = serve_from_spool(repo, &spool, name, destination, &served);
        if (served) {
            pgb_wal_spool_clean(&spool, PGB_WAL_SPOOL_FETCHED, name);
            pgb_wal_spool_free(&spool);
            return rc;
        }
    }
    if (rc == PGB_OK)
        rc = pgb_wal_check_cluster(repo);
    struct pgb_wal_archived found;
    pgb_object_reader *reader = NULL;
    int partial = 0;
    if (rc == PGB_OK)
        rc = pgb_wal_archived_open(repo, name, timeline, &found, &reader);
    if (rc == PGB_ENOTFOUND && segment) {
        /*
         * Never archived complete, but perhaps as a partial segment: the last
         * file of a receiver's stream, or the last segment of a timeline that
         * was promoted away from. Its content is what the server wrote up to
         * there, and serving it lets recovery replay up to the newest byte.
         */
        pgb_error_clear(ctx);
        rc = fetch_partial(repo, name, timeline, destination);
        partial = 1;
    }
    if (rc == PGB_ENOTFOUND)
        rc = pgb_error_set(ctx, PGB_ENOTFOUND, "WAL file %s is not archived in cluster %s of repository %s", name,
                           repo->cluster, pgb_storage_name(repo->storage));
    /* The segment is there: the ones after it are worth fetching while it is copied (its record gives their size). */
    struct pgb_wal_prefetch *prefetch = NULL;
    if (rc == PGB_OK && segment && !partial && found.has_sum && pgb_wal_segment_size_valid(found.sum.size))
        prefetch = pgb_wal_prefetch_start(repo, name, found.sum.size, &spool, prefetch_count(opts));
    if (rc == PGB_OK && !partial)
        rc = pgb_wal_archived_copy(repo, reader, &found, destination, NULL);
    pgb_object_reader_close(reader);
    /* Only the requested file's own fetch decides the result. */
    pgb_wal_prefetch_finish(prefetch);
    if (spool.folder)
        pgb_wal_spool_clean(&spool, PGB_WAL_SPOOL_FETCHED, name);
    pgb_wal_spool_free(&spool);
    return rc;
}

int pgb_wal_fetch(pgb_repo *repo, const char *name, const char *destination)
{
    return pgb_wal_fetch_with_options(repo, name, destination, NULL);
}
