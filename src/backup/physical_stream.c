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
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "backup/job.h"
#include "backup/server_config.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "pg/base_backup.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/wal_streamer.h"
#include "repo/catalog.h"
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Store each streamed segment as content/<id>/wal/<name>, then drop the spool. */
static int store_wal(struct pgb_job *job, const char *spool, const char *const *names, size_t count,
                     uint64_t *stored)
{
    struct pgb_object_spec spec = {.codec = job->codec, .level = job->level, .seal = PGB_SEAL_REPOSITORY,
                                   .flags = PGB_STORAGE_NO_OVERWRITE};
    uint8_t *buffer = malloc(1 << 20);
    if (!buffer)
        return pgb_error_nomem(job->ctx);
    int rc = PGB_OK;
    for (size_t i = 0; rc == PGB_OK && i < count; i++) {
        char path[1024], name[64], key[PGB_KEY_SIZE];
        snprintf(path, sizeof(path), "%s/%s", spool, names[i]);
        snprintf(name, sizeof(name), "wal/%s", names[i]);
        pgb_backup_content_key(job->repo, job->backup_id, name, key);
        FILE *f = fopen(path, "rb");
        if (!f) {
            rc = pgb_error_set(job->ctx, PGB_EIO, "cannot open streamed WAL %s: %s", path, strerror(errno));
            break;
        }
        pgb_object_writer *w = NULL;
        rc = pgb_object_writer_open(&w, job->repo->storage, key, &job->repo->keys, &spec);
        size_t n;
        while (rc == PGB_OK && (n = fread(buffer, 1, 1 << 20, f)) > 0)
            rc = pgb_object_writer_write(w, buffer, n);
        if (rc == PGB_OK && ferror(f))
            rc = pgb_error_set(job->ctx, PGB_EIO, "cannot read streamed WAL %s", path);
        fclose(f);
        struct pgb_object_info info;
        if (rc == PGB_OK) {
            rc = pgb_object_writer_commit(w, &info);
            *stored += info.stored_size;
        } else {
            pgb_object_writer_abort(w);
        }
    }
    free(buffer);
    return rc;
}

static int store_manifest(struct stream_state *s, uint64_t *stored)
{
    struct pgb_job *job = s->job;
    if (s->manifest_size == 0)
        return pgb_error_set(job->ctx, PGB_ECONNECTION, "the server sent no backup_manifest");
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(job->repo, job->backup_id, "backup_manifest", key);
    struct pgb_object_spec spec = {.codec = job->codec, .level = job->level, .seal = PGB_SEAL_REPOSITORY,
                                   .flags = PGB_STORAGE_NO_OVERWRITE};
    struct pgb_object_info info;
    int rc = pgb_object_put(job->repo->storage, key, &job->repo->keys, &spec, s->manifest, s->manifest_size, &info);
    if (rc == PGB_OK)
        *stored += info.stored_size;
    return rc;
}

/* The newest physical backup's id, for an incremental; "" when there is none. */
static int find_parent(struct pgb_job *job, char *parent, size_t size, json_t **parent_record)
{
    json_t *records = NULL;
    int rc = pgb_catalog_read_all(job->repo, &records);
    parent[0] = '\0';
    *parent_record = NULL;
    for (size_t i = json_array_size(records); rc == PGB_OK && i > 0; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *type = json_string_value(json_object_get(r, "type"));
        if (type && strcmp(type, "physical") == 0) {
            snprintf(parent, size, "%s", json_string_value(json_object_get(r, "id")));
            *parent_record = json_incref(r);
            break;
        }
    }
    json_decref(records);
    return rc;
}

static json_t *make_record(struct pgb_job *job, const struct pgb_base_backup_result *result, const char *parent,
                           time_t started, const struct pgb_content_stats *stats, uint64_t stored,
                           const char *const *wal_names, size_t wal_count, json_t *config)
{
    char start_time[PGB_ISO8601_SIZE], stop_time[PGB_ISO8601_SIZE], start_lsn[PGB_LSN_TEXT_SIZE],
        stop_lsn[PGB_LSN_TEXT_SIZE];
    pgb_time_iso8601(started, start_time);
    pgb_time_iso8601(time(NULL), stop_time);
    pgb_lsn_format(result->start_lsn, start_lsn);
    pgb_lsn_format(result->end_lsn, stop_lsn);
    json_t *tablespaces = json_array();
    for (size_t i = 0; i < result->tablespace_count; i++)
        json_array_append_new(tablespaces, json_pack("{s:i, s:s}", "oid", (int)result->tablespaces[i].oid,
                                                     "location", result->tablespaces[i].location));
    json_t *record = json_pack(
        "{s:s, s:s, s:b, s:s?, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "type",
        "physical", "mode", "stream", "incremental", job->incremental && parent[0], "parent",
        parent[0] ? parent : NULL, "start_time", start_time, "stop_time", stop_time, "start_lsn", start_lsn,
        "stop_lsn", stop_lsn, "start_timeline", (int)result->start_tli, "stop_timeline", (int)result->end_tli,
        "system_identifier", result->system_identifier, "pg_version_num", result->server_version_num,
        "database_size", (json_int_t)stats->bytes, "stored_size", (json_int_t)stored, "files",
        (json_int_t)stats->files, "chunks_new", (json_int_t)stats->chunks_new, "chunks_reused",
        (json_int_t)stats->chunks_reused, "tablespaces", tablespaces, "config_files", json_incref(config));
    if (record) {
        json_object_set_new(record, "wal_segment_size", json_integer((json_int_t)job->wal_segment_size));
        json_object_set_new(record, "label", json_string(job->label ? job->label : job->backup_id));
        json_object_set_new(record, "wal", json_pack("{s:s, s:s, s:I}", "first", wal_count ? wal_names[0] : "",
                                                     "last", wal_count ? wal_names[wal_count - 1] : "", "count",
                                                     (json_int_t)wal_count));
    }
    return record;
}

static int read_segment_size(struct pgb_job *job, PGconn *sql)
{
    PGresult *res = NULL;
    int rc = pgb_pg_query(job->ctx, sql, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'", &res);
    if (rc == PGB_OK)
        job->wal_segment_size = (uint64_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

/* Refuse to mix two clusters under one name: the system identifier must stay the same. */
static int check_system(struct pgb_job *job, json_t *parent_record, const char *system_identifier)
{
    const char *known = json_string_value(json_object_get(parent_record, "system_identifier"));
    if (known && strcmp(known, system_identifier) != 0)
        return pgb_error_set(job->ctx, PGB_EREFUSED, "the server's system identifier %s differs from %s of the "
                             "backups of cluster %s: is --pg pointing at another cluster?", system_identifier, known,
                             job->repo->cluster);
    return PGB_OK;
}

int pgb_physical_stream_run(struct pgb_job *job)
{
    pgb_ctx *ctx = job->ctx;
    struct stream_state s = {.job = job};
    struct pgb_base_backup_result result = {0};
    struct pgb_file_list parent_list = {0};
    json_t *parent_record = NULL, *config = NULL;
    PGconn *sql = NULL, *replication = NULL;
    char parent[64] = "", spool[] = "/tmp/pgbackup-wal-XXXXXX";
    const char *const *wal_names = NULL;
    size_t wal_count = 0;
    uint64_t stored = 0;
    time_t started = time(NULL);
    int spool_made = 0;

    pgb_job_make_backup_id(job, job->incremental ? "incr" : "full");
    pgb_progress_begin(&s.progress, "connect");
    int rc = pgb_progress_report(ctx, &s.progress);
    if (rc == PGB_OK && job->incremental) {
        rc = find_parent(job, parent, sizeof(parent), &parent_record);
        if (rc == PGB_OK && parent[0])
            rc = pgb_file_list_load(job->repo, parent, &parent_list);
        else if (rc == PGB_OK)
            pgb_log(ctx, PGB_LOG_INFO, "no physical backup of cluster %s yet: this incremental is a full backup",
                    job->repo->cluster);
    } else if (rc == PGB_OK) {
        rc = find_parent(job, parent, sizeof(parent), &parent_record);
        parent[0] = '\0'; /* a full backup has no parent; the newest record only checks the system */
    }
    if (rc == PGB_OK)
        rc = pgb_pg_connect(ctx, job->conninfo, PGB_PG_SQL, &sql);
    if (rc == PGB_OK)
        rc = read_segment_size(job, sql);
    if (rc == PGB_OK)
        rc = pgb_pg_connect(ctx, job->conninfo, PGB_PG_REPLICATION, &replication);
    if (rc == PGB_OK) {
        spool_made = mkdtemp(spool) != NULL;
        if (!spool_made)
            rc = pgb_error_set(ctx, PGB_EIO, "cannot make a WAL spool folder %s: %s", spool, strerror(errno));
    }
    if (rc == PGB_OK)
        rc = pgb_wal_streamer_open(ctx, job->conninfo, spool, &s.wal);
    if (rc == PGB_OK)
        rc = pgb_content_writer_new(&s.content, job->repo, job->codec, job->level,
                                    parent[0] ? &parent_list : NULL);
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
        rc = check_system(job, parent_record, result.system_identifier);
    if (rc == PGB_OK) {
        s.progress.phase = "wal";
        rc = pgb_progress_report(ctx, &s.progress);
    }
    if (rc == PGB_OK)
        rc = pgb_wal_streamer_finish(s.wal, result.end_lsn, &wal_names, &wal_count);
    if (rc == PGB_OK)
        rc = pgb_content_writer_finish(s.content);
    if (rc == PGB_OK)
        rc = store_wal(job, spool, wal_names, wal_count, &stored);
    if (rc == PGB_OK)
        rc = store_manifest(&s, &stored);
    if (rc == PGB_OK)
        rc = pgb_server_config_store(job->repo, sql, job->backup_id, &config);
    uint64_t list_size = 0;
    if (rc == PGB_OK)
        rc = pgb_file_list_store(job->repo, job->backup_id, pgb_content_writer_list(s.content), &list_size);
    if (rc == PGB_OK) {
        s.progress.phase = "commit";
        struct pgb_content_stats stats = pgb_content_writer_stats(s.content);
        stored += stats.stored_bytes + list_size;
        job->record = make_record(job, &result, parent, started, &stats, stored, wal_names, wal_count, config);
        rc = job->record ? pgb_catalog_commit(job->repo, job->backup_id, job->record) : pgb_error_nomem(ctx);
    }
    if (rc == PGB_OK) {
        job->record_json = json_dumps(job->record, JSON_INDENT(2) | JSON_SORT_KEYS);
        pgb_log(ctx, PGB_LOG_DEBUG, "backup %s committed", job->backup_id);
    }

    pgb_wal_streamer_free(s.wal); /* owns the segment names */
    if (spool_made)
        nftw(spool, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
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
