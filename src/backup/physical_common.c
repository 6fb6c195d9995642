/*
 * Pieces of a physical backup that do not depend on how the files were read
 * (BASE_BACKUP in stream mode, a copy of the data directory in local mode).
 */
#include "backup/physical_common.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/log.h"
#include "manifest/manifest.h"
#include "pipeline/compress.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "repo/catalog.h"

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

/*
 * Chunks are named by their compressed frames: a parent compressed otherwise
 * (codec, level, library version) or named by format 1 shares none of them.
 */
static void warn_other_encoding(struct pgb_job *job, const char *parent, json_t *parent_record)
{
    char encoding[96];
    pgb_codec_encoding(job->codec, job->level, encoding, sizeof(encoding));
    const char *theirs = json_string_value(json_object_get(parent_record, "chunk_encoding"));
    if (theirs && strcmp(theirs, encoding) == 0)
        return;
    pgb_log(job->ctx, PGB_LOG_WARNING, "backup %s compressed its chunks as %s, this one as %s: chunks are found "
            "again by their compressed form, so this incremental stores every chunk once more (later ones will "
            "not)", parent, theirs ? theirs : "an earlier version did", encoding);
}

int pgb_physical_load_parent(struct pgb_job *job, char *parent, size_t size, json_t **parent_record,
                             struct pgb_file_list *parent_list)
{
    int rc = find_parent(job, parent, size, parent_record);
    if (rc == PGB_OK && job->incremental) {
        if (parent[0]) {
            rc = pgb_file_list_load(job->repo, parent, parent_list);
            warn_other_encoding(job, parent, *parent_record);
        } else
            pgb_log(job->ctx, PGB_LOG_INFO, "no physical backup of cluster %s yet: this incremental is a full backup",
                    job->repo->cluster);
    } else {
        parent[0] = '\0'; /* a full backup has no parent; the newest record only checks the system */
    }
    return rc;
}

int pgb_physical_check_system(struct pgb_job *job, json_t *parent_record, const char *system_identifier)
{
    const char *known = json_string_value(json_object_get(parent_record, "system_identifier"));
    if (known && strcmp(known, system_identifier) != 0)
        return pgb_error_set(job->ctx, PGB_EREFUSED, "the server's system identifier %s differs from %s of the "
                             "backups of cluster %s: is --pg pointing at another cluster?", system_identifier, known,
                             job->repo->cluster);
    return PGB_OK;
}

int pgb_physical_read_segment_size(struct pgb_job *job, PGconn *sql)
{
    PGresult *res = NULL;
    int rc = pgb_pg_query(job->ctx, sql, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'", &res);
    if (rc == PGB_OK)
        job->wal_segment_size = (uint64_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

int pgb_physical_spool_make(struct pgb_job *job, char spool[PGB_SPOOL_PATH_SIZE], int *made)
{
    snprintf(spool, PGB_SPOOL_PATH_SIZE, "/tmp/pgbackup-wal-XXXXXX");
    *made = mkdtemp(spool) != NULL;
    if (!*made)
        return pgb_error_set(job->ctx, PGB_EIO, "cannot make a WAL spool folder %s: %s", spool, strerror(errno));
    return PGB_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void pgb_physical_spool_remove(const char *spool, int made)
{
    if (made)
        nftw(spool, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int pgb_physical_store_wal(struct pgb_job *job, const char *spool, const char *const *names, size_t count,
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

static int entry_path_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pgb_physical_check_received(struct pgb_job *job, const struct pgb_file_list *list, const void *manifest_text,
                                size_t size)
{
    pgb_ctx *ctx = job->ctx;
    struct pgb_manifest *manifest = NULL;
    int rc = pgb_manifest_parse(ctx, "the server's backup_manifest", manifest_text, size, &manifest);
    const char **paths = rc == PGB_OK && list->count ? malloc(list->count * sizeof(*paths)) : NULL;
    if (rc == PGB_OK && list->count && !paths)
        rc = pgb_error_nomem(ctx);
    size_t path_count = 0;
    for (size_t i = 0; rc == PGB_OK && i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type != PGB_FILE_REGULAR)
            continue;
        paths[path_count++] = e->path;
        const struct pgb_manifest_file *m = pgb_manifest_find(manifest, e->path);
        char ours[65], theirs[65];
        if (!m)
            rc = pgb_error_set(ctx, PGB_ECORRUPT, "the server sent %s but its backup_manifest does not list it: "
                               "the backup is not committed", e->path);
        else if (m->size != e->size)
            rc = pgb_error_set(ctx, PGB_ECORRUPT, "%s: %llu bytes received, the server's backup_manifest says %llu: "
                               "the backup is not committed", e->path, (unsigned long long)e->size,
                               (unsigned long long)m->size);
        else if (m->checksum_type == PGB_CHECKSUM_SHA256 && memcmp(m->checksum, e->sha256, 32) != 0) {
            pgb_hex_encode(e->sha256, 32, ours);
            pgb_hex_encode(m->checksum, 32, theirs);
            rc = pgb_error_set(ctx, PGB_ECORRUPT, "%s: the bytes received have SHA-256 %s, the server's "
                               "backup_manifest says %s: the backup is not committed", e->path, ours, theirs);
        }
    }
    if (rc == PGB_OK && path_count > 1)
        qsort(paths, path_count, sizeof(*paths), entry_path_cmp);
    for (size_t i = 0; rc == PGB_OK && i < pgb_manifest_file_count(manifest); i++) {
        const char *path = pgb_manifest_file_at(manifest, i)->path;
        if (!path_count || !bsearch(&path, paths, path_count, sizeof(*paths), entry_path_cmp))
            rc = pgb_error_set(ctx, PGB_ECORRUPT, "the server's backup_manifest lists %s, which was not received: "
                               "the backup is not committed", path);
    }
    free(paths);
    pgb_manifest_free(manifest);
    return rc;
}

int pgb_physical_store_manifest(struct pgb_job *job, const void *data, size_t size, uint64_t *stored)
{
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(job->repo, job->backup_id, "backup_manifest", key);
    struct pgb_object_spec spec = {.codec = job->codec, .level = job->level, .seal = PGB_SEAL_REPOSITORY,
                                   .flags = PGB_STORAGE_NO_OVERWRITE};
    struct pgb_object_info info;
    int rc = pgb_object_put(job->repo->storage, key, &job->repo->keys, &spec, data, size, &info);
    if (rc == PGB_OK)
        *stored += info.stored_size;
    return rc;
}

json_t *pgb_physical_make_record(struct pgb_job *job, const char *mode, const struct pgb_base_backup_result *result,
                                 const char *parent, time_t started, const struct pgb_content_stats *stats,
                                 uint64_t stored, const char *const *wal_names, size_t wal_count, json_t *config)
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
        "physical", "mode", mode, "incremental", job->incremental && parent[0], "parent",
        parent[0] ? parent : NULL, "start_time", start_time, "stop_time", stop_time, "start_lsn", start_lsn,
        "stop_lsn", stop_lsn, "start_timeline", (int)result->start_tli, "stop_timeline", (int)result->end_tli,
        "system_identifier", result->system_identifier, "pg_version_num", result->server_version_num,
        "database_size", (json_int_t)stats->bytes, "stored_size", (json_int_t)stored, "files",
        (json_int_t)stats->files, "chunks_new", (json_int_t)stats->chunks_new, "chunks_reused",
        (json_int_t)stats->chunks_reused, "tablespaces", tablespaces, "config_files", json_incref(config));
    if (record) {
        json_object_set_new(record, "wal_segment_size", json_integer((json_int_t)job->wal_segment_size));
        json_object_set_new(record, "label", json_string(job->label ? job->label : job->backup_id));
        char encoding[96];
        pgb_codec_encoding(job->codec, job->level, encoding, sizeof(encoding));
        json_object_set_new(record, "chunk_encoding", json_string(encoding));
        json_object_set_new(record, "wal", json_pack("{s:s, s:s, s:I}", "first", wal_count ? wal_names[0] : "",
                                                     "last", wal_count ? wal_names[wal_count - 1] : "", "count",
                                                     (json_int_t)wal_count));
    }
    return record;
}

int pgb_physical_commit_record(struct pgb_job *job)
{
    int rc = job->record ? pgb_catalog_commit(job->repo, job->backup_id, job->record) : pgb_error_nomem(job->ctx);
    if (rc == PGB_OK) {
        job->record_json = json_dumps(job->record, JSON_INDENT(2) | JSON_SORT_KEYS);
        pgb_log(job->ctx, PGB_LOG_INFO, "backup %s committed", job->backup_id);
    }
    return rc;
}
