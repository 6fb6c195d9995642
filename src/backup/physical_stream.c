/*
 * Physical backup in stream mode: BASE_BACKUP over a replication connection
 * (from any host), its archives parsed on the fly into the repository's chunk
 * format, the server's backup_manifest kept verbatim, and the WAL the backup
 * needs streamed over a second connection with a temporary slot, so that the
 * backup restores even with no WAL archive (as pg_basebackup -X stream).
 *
 * Order of commits: packs, WAL, manifest, file list, and last the catalog
 * record; a backup without its record does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "backup/job.h"
#include "backup/physical_common.h"
#include "backup/server_config.h"
#include "core/error.h"
#include "core/progress.h"
#include "pg/base_backup.h"
#include "pg/connection.h"
#include "pg/wal_streamer.h"
#include "repo/content_writer.h"
#include "repo/file_list.h"

struct stream_state {
    struct pgb_job *job;
    pgb_content_writer *content;
    pgb_wal_streamer *wal;
    uint8_t *manifest;
    size_t manifest_size, manifest_capacity;
    struct pgb_progress progress;
};

static int on_entry_begin(void *payload, const struct pgb_backup_entry *entry)
{
    struct stream_state *s = payload;
    int type = entry->type == PGB_ENTRY_DIRECTORY ? PGB_FILE_DIRECTORY
               : entry->type == PGB_ENTRY_SYMLINK ? PGB_FILE_SYMLINK
                                                  : PGB_FILE_REGULAR;
    return pgb_content_writer_begin(s->content, entry->path, type, entry->mode, entry->mtime, entry->link_target);
}

static int on_entry_data(void *payload, const uint8_t *data, size_t size)
{
    struct stream_state *s = payload;
    return pgb_content_writer_data(s->content, data, size);
}

static int on_entry_end(void *payload)
{
    struct stream_state *s = payload;
    s->progress.files_done++;
    return pgb_content_writer_end(s->content);
}

static int on_manifest_data(void *payload, const uint8_t *data, size_t size)
{
    struct stream_state *s = payload;
    if (s->manifest_size + size > s->manifest_capacity) {
        size_t capacity = s->manifest_capacity ? s->manifest_capacity : 65536;
        while (capacity < s->manifest_size + size)
            capacity *= 2;
        uint8_t *grown = realloc(s->manifest, capacity);
        if (!grown)
            return pgb_error_nomem(s->job->ctx);
        s->manifest = grown;
        s->manifest_capacity = capacity;
    }
    memcpy(s->manifest + s->manifest_size, data, size);
    s->manifest_size += size;
    return PGB_OK;
}

static int on_progress(void *payload, uint64_t done, uint64_t total)
{
    struct stream_state *s = payload;
    s->progress.bytes_done = done;
    s->progress.bytes_total = total;
    return pgb_progress_report(s->job->ctx, &s->progress);
}

static int on_started(void *payload, uint64_t start_lsn, uint32_t tli)
{
    struct stream_state *s = payload;
    return pgb_wal_streamer_start(s->wal, start_lsn, tli);
}

int pgb_physical_stream_run(struct pgb_job *job)
{
    pgb_ctx *ctx = job->ctx;
    struct stream_state s = {.job = job};
    struct pgb_base_backup_result result = {0};
    struct pgb_file_list parent_list = {0};
    json_t *parent_record = NULL, *config = NULL;
    PGconn *sql = NULL, *replication = NULL;
    char parent[64] = "", spool[PGB_SPOOL_PATH_SIZE] = "";
    const char *const *wal_names = NULL;
    size_t wal_count = 0;
    uint64_t stored = 0;
    time_t started = time(NULL);
    int spool_made = 0;

    pgb_job_make_backup_id(job, job->incremental ? "incr" : "full");
    pgb_progress_begin(&s.progress, "connect");
    int rc = pgb_progress_report(ctx, &s.progress);
    if (rc == PGB_OK)
        rc = pgb_physical_load_parent(job, parent, sizeof(parent), &parent_record, &parent_list);
    if (rc == PGB_OK)
        rc = pgb_pg_connect(ctx, job->conninfo, PGB_PG_SQL, &sql);
    if (rc == PGB_OK)
        rc = pgb_physical_read_segment_size(job, sql);
    if (rc == PGB_OK)
        rc = pgb_pg_connect(ctx, job->conninfo, PGB_PG_REPLICATION, &replication);
    if (rc == PGB_OK)
        rc = pgb_physical_spool_make(job, spool, &spool_made);
    if (rc == PGB_OK)
        rc = pgb_wal_streamer_open(ctx, job->conninfo, spool, &s.wal);
    if (rc == PGB_OK)
        rc = pgb_content_writer_new(&s.content, job->repo, job->codec, job->level,
                                    parent[0] ? &parent_list : NULL);
    /* With --jobs N (2 or more), N - 1 threads compress and encrypt beside the reading and hashing. */
    if (rc == PGB_OK && job->jobs > 1)
        rc = pgb_content_writer_use_thread(s.content, job->jobs - 1);
    if (rc == PGB_OK) {
        char label[128];
        snprintf(label, sizeof(label), "pgbackup %s", job->backup_id);
        struct pgb_base_backup_options options = {.label = job->label ? job->label : label,
                                                  .fast_checkpoint = job->fast_checkpoint,
                                                  .verify_checksums = 1,
                                                  .manifest_checksums = "SHA256",
                                                  .progress = 1};
        struct pgb_base_backup_callbacks callbacks = {&s, on_entry_begin, on_entry_data, on_entry_end,
                                                      on_manifest_data, on_progress};
        s.progress.phase = "copy";
        rc = pgb_base_backup_run(ctx, replication, &options, &callbacks, on_started, &result);
    }
    if (rc == PGB_OK && result.checksum_failures)
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "the server found damaged data pages while sending the backup "
                           "(see its log for relation and block): the backup is not committed");
    if (rc == PGB_OK)
        rc = pgb_physical_check_system(job, parent_record, result.system_identifier);
    if (rc == PGB_OK) {
        s.progress.phase = "wal";
        rc = pgb_progress_report(ctx, &s.progress);
    }
    if (rc == PGB_OK)
        rc = pgb_wal_streamer_finish(s.wal, result.end_lsn, &wal_names, &wal_count);
    if (rc == PGB_OK)
        rc = pgb_content_writer_finish(s.content);
    if (rc == PGB_OK)
        rc = pgb_physical_store_wal(job, spool, wal_names, wal_count, &stored);
    if (rc == PGB_OK && s.manifest_size == 0)
        rc = pgb_error_set(ctx, PGB_ECONNECTION, "the server sent no backup_manifest");
    if (rc == PGB_OK)
        rc = pgb_physical_check_received(job, pgb_content_writer_list(s.content), s.manifest, s.manifest_size);
    if (rc == PGB_OK)
        rc = pgb_physical_store_manifest(job, s.manifest, s.manifest_size, &stored);
    if (rc == PGB_OK)
        rc = pgb_server_config_store(job->repo, sql, job->backup_id, &config);
    uint64_t list_size = 0;
    if (rc == PGB_OK)
        rc = pgb_file_list_store(job->repo, job->backup_id, pgb_content_writer_list(s.content), &list_size);
    if (rc == PGB_OK) {
        s.progress.phase = "commit";
        struct pgb_content_stats stats = pgb_content_writer_stats(s.content);
        stored += stats.stored_bytes + list_size;
        job->record = pgb_physical_make_record(job, "stream", &result, parent, started, &stats, stored, wal_names,
                                               wal_count, config);
        rc = pgb_physical_commit_record(job);
    }

    pgb_wal_streamer_free(s.wal); /* owns the segment names */
    pgb_physical_spool_remove(spool, spool_made);
    pgb_content_writer_free(s.content);
    free(s.manifest);
    pgb_base_backup_result_clear(&result);
    pgb_file_list_clear(&parent_list);
    json_decref(parent_record);
    json_decref(config);
    PQfinish(replication);
    PQfinish(sql);
    return rc;
}
