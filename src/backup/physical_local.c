/*
 * Physical backup in local mode, on the database host: the data directory is
 * copied by parallel workers between pg_backup_start() and pg_backup_stop()
 * on one held SQL connection (backup.sgml, "Making a Base Backup Using the Low
 * Level API"), with the server's exclusion rules (backup/data_dir.h), data
 * page checksums verified as BASE_BACKUP verifies them, and the WAL streamed
 * over a replication connection with a temporary slot opened before the
 * backup starts. The result has the repository format of stream mode and a
 * backup_manifest written in the server's layout from what was copied.
 *
 * The copy itself, its workers and the page checks are backup/local_copy.h;
 * global/pg_control is copied last, after every worker has finished.
 *
 * Order of commits, as in stream mode: packs, WAL, backup_manifest,
 * configuration files, file list, and last the catalog record.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "backup/data_dir.h"
#include "backup/job.h"
#include "backup/local_copy.h"
#include "backup/page_checksum.h"
#include "backup/physical_common.h"
#include "backup/server_config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "manifest/manifest.h"
#include "pg/base_backup.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/wal_streamer.h"
#include "repo/file_list.h"

#define BAD_PAGES_IN_MESSAGE 50

struct local_state {
    struct pgb_job *job;
    PGconn *sql;
    pgb_wal_streamer *wal;
    char pgdata[PATH_MAX];
    int major;
    uint32_t timeline;
    uint64_t system_identifier;
    uint32_t catalog_version;
    int data_checksums;
    uint32_t blocks_per_segment;
    struct pgb_progress progress;
};

/* ---- checking the data directory ---- */

static int read_server_settings(struct local_state *s)
{
    pgb_ctx *ctx = s->job->ctx;
    s->major = PQserverVersion(s->sql) / 10000;
    if (s->major < 13 || s->major > 17)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED, "local backups of PostgreSQL %d are not supported (13 to 17 "
                             "are)", s->major);
    PGresult *res = NULL;
    int rc = pgb_pg_query(ctx, s->sql,
                          "SELECT current_setting('data_checksums'), current_setting('block_size'),"
                          " (SELECT setting FROM pg_settings WHERE name = 'segment_size')",
                          &res);
    if (rc != PGB_OK)
        return rc;
    s->data_checksums = strcmp(PQgetvalue(res, 0, 0), "on") == 0;
    unsigned long block_size = strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    s->blocks_per_segment = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    if (s->data_checksums && (block_size != PGB_PAGE_SIZE || s->blocks_per_segment == 0)) {
        pgb_log(ctx, PGB_LOG_WARNING, "the server's pages are %lu bytes: their checksums are not verified "
                "(this build verifies %d-byte pages)", block_size, PGB_PAGE_SIZE);
        s->data_checksums = 0;
    }
    return PGB_OK;
}

/*
 * pgdata must be the data directory of the server we talk to: the same
 * folder as data_directory when the role may read that setting, and always
 * the same system identifier in its pg_control as IDENTIFY_SYSTEM's.
 */
static int check_data_directory(struct local_state *s)
{
    struct pgb_job *job = s->job;
    pgb_ctx *ctx = job->ctx;
    char where[256];
    pgb_pg_describe(s->sql, where, sizeof(where));
    if (!realpath(job->pgdata, s->pgdata))
        return pgb_error_set(ctx, PGB_EREFUSED, "the data directory %s cannot be used: %s", job->pgdata,
                             strerror(errno));
    PGresult *res = PQexec(s->sql, "SHOW data_directory");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        char server_dir[PATH_MAX];
        const char *shown = PQgetvalue(res, 0, 0);
        int rc = PGB_OK;
        if (!realpath(shown, server_dir))
            rc = pgb_error_set(ctx, PGB_EREFUSED, "the server at %s keeps its data in %s, which is not on this "
                               "host (%s): local mode runs on the database host; use stream mode elsewhere", where,
                               shown, strerror(errno));
        else if (strcmp(server_dir, s->pgdata) != 0)
            rc = pgb_error_set(ctx, PGB_EREFUSED, "--pgdata %s is not the data directory of the server at %s, "
                               "which is %s", job->pgdata, where, shown);
        PQclear(res);
        if (rc != PGB_OK)
            return rc;
    } else {
        pgb_log(ctx, PGB_LOG_INFO, "cannot read the server's data_directory setting (%s): the data directory is "
                "checked by its system identifier only", PQresultErrorMessage(res));
        PQclear(res);
    }
    int rc = pgb_data_dir_read_control(ctx, s->pgdata, &s->system_identifier, &s->catalog_version);
    if (rc != PGB_OK) {
        char *why = pgb_text_dup(pgb_ctx_errmsg(ctx));
        rc = pgb_error_set(ctx, PGB_EREFUSED, "--pgdata %s is not a PostgreSQL data directory: %s", job->pgdata,
                           why ? why : "its control file cannot be read");
        free(why);
        return rc;
    }
    const char *identified = pgb_wal_streamer_system_identifier(s->wal);
    char mine[32];
    snprintf(mine, sizeof(mine), "%" PRIu64, s->system_identifier);
    if (strcmp(mine, identified) != 0)
        return pgb_error_set(ctx, PGB_EREFUSED, "--pgdata %s belongs to the cluster with system identifier %s, "
                             "but the server at %s is cluster %s: the data directory of another cluster cannot be "
                             "backed up through this server", job->pgdata, mine, where, identified);
    return PGB_OK;
}

/* ---- findings ---- */

/* Log every bad page; unless allowed, fail naming them. */
static int report_bad_pages(struct pgb_job *job, const struct pgb_bad_page *bad, size_t count)
{
    for (size_t i = 0; i < count; i++)
        pgb_log(job->ctx, PGB_LOG_WARNING, "data page checksum failure: %s block %" PRIu64, bad[i].path,
                bad[i].block);
    if (count == 0 || job->allow_bad_pages)
        return PGB_OK;
    size_t size = 256;
    for (size_t i = 0; i < count && i < BAD_PAGES_IN_MESSAGE; i++)
        size += strlen(bad[i].path) + 32;
    char *list = malloc(size);
    if (!list)
        return pgb_error_nomem(job->ctx);
    size_t used = 0;
    for (size_t i = 0; i < count && i < BAD_PAGES_IN_MESSAGE; i++)
        used += (size_t)snprintf(list + used, size - used, "%s%s block %" PRIu64, i ? ", " : "", bad[i].path,
                                 bad[i].block);
    if (count > BAD_PAGES_IN_MESSAGE)
        snprintf(list + used, size - used, " and %zu more (see the log)", count - BAD_PAGES_IN_MESSAGE);
    int rc = pgb_error_set(job->ctx, PGB_ECORRUPT, "%zu data page%s failed %s checksum: %s; the backup is not "
                           "committed (option allow-bad-pages commits it anyway and lists them in its record)",
                           count, count == 1 ? "" : "s", count == 1 ? "its" : "their", list);
    free(list);
    return rc;
}

/* ---- the server's side ---- */

static int start_backup(struct local_state *s, uint64_t *start_lsn)
{
    struct pgb_job *job = s->job;
    char label[160];
    snprintf(label, sizeof(label), "pgbackup %s", job->backup_id);
    const char *params[] = {job->label ? job->label : label, job->fast_checkpoint ? "true" : "false"};
    /* 15 removed the exclusive mode and renamed the functions (func.sgml, "Backup Control Functions"). */
    const char *sql = s->major >= 15 ? "SELECT pg_backup_start($1, $2)" : "SELECT pg_start_backup($1, $2, false)";
    PGresult *res = NULL;
    int rc = pgb_pg_query_params(job->ctx, s->sql, sql, 2, params, &res);
    if (rc == PGB_OK)
        rc = pgb_lsn_parse(job->ctx, PQgetvalue(res, 0, 0), start_lsn);
    PQclear(res);
    return rc;
}

/* The value of "<key>: " in the label file, up to the end of its line. */
static int label_value(const char *labelfile, const char *key, char *out, size_t size)
{
    size_t len = strlen(key);
    for (const char *line = labelfile; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (strncmp(line, key, len) == 0 && line[len] == ':' && line[len + 1] == ' ') {
            const char *value = line + len + 2;
            size_t n = strcspn(value, "\n");
            snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), value);
            return 1;
        }
    return 0;
}

/* pg_backup_stop(false): the end LSN and the backup_label text; the caller secures the WAL (it streams it). */
static int stop_backup(struct local_state *s, uint64_t start_lsn, uint64_t *end_lsn, char **labelfile)
{
    pgb_ctx *ctx = s->job->ctx;
    const char *sql = s->major >= 15 ? "SELECT lsn, labelfile FROM pg_backup_stop(false)"
                                     : "SELECT lsn, labelfile FROM pg_stop_backup(false, false)";
    PGresult *res = NULL;
    int rc = pgb_pg_query_params(ctx, s->sql, sql, 0, NULL, &res);
    if (rc == PGB_OK && (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)))
        rc = pgb_error_set(ctx, PGB_ECONNECTION, "%s returned no backup label", sql);
    if (rc == PGB_OK)
        rc = pgb_lsn_parse(ctx, PQgetvalue(res, 0, 0), end_lsn);
    if (rc == PGB_OK && !(*labelfile = pgb_text_dup(PQgetvalue(res, 0, 1))))
        rc = pgb_error_nomem(ctx);
    PQclear(res);
    /* The label must describe the backup the WAL was streamed for. */
    char value[64];
    uint64_t label_lsn = 0;
    if (rc == PGB_OK && label_value(*labelfile, "START WAL LOCATION", value, sizeof(value))) {
        value[strcspn(value, " ")] = '\0';
        if (pgb_lsn_parse(NULL, value, &label_lsn) != PGB_OK || label_lsn != start_lsn)
            rc = pgb_error_set(ctx, PGB_ECONNECTION, "the backup label starts at %s, not where pg_backup_start "
                               "said", value);
    }
    if (rc == PGB_OK && label_value(*labelfile, "START TIMELINE", value, sizeof(value)) &&
        strtoul(value, NULL, 10) != s->timeline)
        rc = pgb_error_set(ctx, PGB_ECONNECTION, "the backup started on timeline %s, but WAL was streamed from "
                           "timeline %u: the server changed timeline; take the backup again", value,
                           (unsigned)s->timeline);
    return rc;
}

/* ---- the manifest ---- */

/*
 * A backup_manifest in the server's layout for what was copied: every regular
 * file with the SHA-256 of the bytes stored, and the WAL range; the set of
 * files BASE_BACKUP would list (no folders, links or WAL).
 */
static int make_manifest(struct local_state *s, const struct pgb_file_list *files, uint64_t start_lsn,
                         uint64_t end_lsn, char **data, size_t *size)
{
    pgb_ctx *ctx = s->job->ctx;
    struct pgb_manifest_writer *writer = NULL;
    int rc = pgb_manifest_writer_new(ctx, s->major >= 17 ? 2 : 1, s->system_identifier, &writer);
    for (size_t i = 0; rc == PGB_OK && i < files->count; i++) {
        const struct pgb_file_entry *e = &files->entries[i];
        if (e->type == PGB_FILE_REGULAR)
            rc = pgb_manifest_writer_add_file(writer, e->path, e->size, (time_t)e->mtime, PGB_CHECKSUM_SHA256,
                                              e->sha256);
    }
    if (rc == PGB_OK)
        rc = pgb_manifest_writer_add_wal_range(writer, s->timeline, start_lsn, end_lsn);
    if (rc == PGB_OK)
        rc = pgb_manifest_writer_finish(writer, data, size);
    pgb_manifest_writer_free(writer);
    return rc;
}

/* ---- the run ---- */

static json_t *bad_pages_json(const struct pgb_bad_page *bad, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < count; i++)
        json_array_append_new(list, json_pack("{s:s, s:I}", "path", bad[i].path, "block", (json_int_t)bad[i].block));
    return list;
}

int pgb_physical_local_run(struct pgb_job *job)
{
    pgb_ctx *ctx = job->ctx;
    struct local_state ls = {.job = job};
    struct pgb_base_backup_result result = {0};
    struct pgb_file_list parent_list = {0}, files = {0};
    struct pgb_content_stats stats = {0};
    struct pgb_data_dir tree = {0};
    pgb_local_copy *copy = NULL;
    const struct pgb_bad_page *bad = NULL;
    size_t bad_count = 0;
    json_t *parent_record = NULL, *config = NULL;
    char parent[64] = "", spool[PGB_SPOOL_PATH_SIZE] = "";
    char *labelfile = NULL, *manifest = NULL;
    size_t manifest_size = 0;
    const char *const *wal_names = NULL;
    size_t wal_count = 0;
    uint64_t stored = 0, start_lsn = 0, end_lsn = 0;
    time_t started = time(NULL);
    int spool_made = 0;

    pgb_job_make_backup_id(job, job->incremental ? "incr" : "full");
    pgb_progress_begin(&ls.progress, "connect");
    int rc = pgb_progress_report(ctx, &ls.progress);
    if (rc == PGB_OK)
        rc = pgb_physical_load_parent(job, parent, sizeof(parent), &parent_record, &parent_list);
    if (rc == PGB_OK)
        rc = pgb_pg_connect(ctx, job->conninfo, PGB_PG_SQL, &ls.sql);
    if (rc == PGB_OK)
        rc = read_server_settings(&ls);
    if (rc == PGB_OK)
        rc = pgb_physical_read_segment_size(job, ls.sql);
    /* The slot is made before the backup starts, so that the server keeps every segment from its start on. */
    if (rc == PGB_OK)
        rc = pgb_physical_spool_make(job, spool, &spool_made);
    if (rc == PGB_OK)
        rc = pgb_wal_streamer_open(ctx, job->conninfo, spool, &ls.wal);
    if (rc == PGB_OK)
        rc = check_data_directory(&ls);
    if (rc == PGB_OK)
        rc = pgb_physical_check_system(job, parent_record, pgb_wal_streamer_system_identifier(ls.wal));
    if (rc == PGB_OK && (ls.timeline = pgb_wal_streamer_timeline(ls.wal)) == 0)
        rc = pgb_error_set(ctx, PGB_ECONNECTION, "IDENTIFY_SYSTEM gave no timeline");
    /* Writers and workers before the backup starts: nothing to undo on the server when the repository fails. */
    struct pgb_local_copy_options copy_options = {.workers = job->jobs,
                                                  .codec = job->codec,
                                                  .level = job->level,
                                                  .parent = parent[0] ? &parent_list : NULL,
                                                  .verify_pages = ls.data_checksums,
                                                  .blocks_per_segment = ls.blocks_per_segment};
    if (rc == PGB_OK)
        rc = pgb_local_copy_new(&copy, job->repo, &copy_options);

    if (rc == PGB_OK)
        rc = start_backup(&ls, &start_lsn);
    if (rc == PGB_OK)
        rc = pgb_wal_streamer_start(ls.wal, start_lsn, ls.timeline);
    /* The tree is walked after the start: every file that exists from then on is copied. */
    if (rc == PGB_OK) {
        char version_dir[64];
        snprintf(version_dir, sizeof(version_dir), "PG_%d_%u", ls.major, (unsigned)ls.catalog_version);
        rc = pgb_data_dir_walk(ctx, ls.pgdata, version_dir, &tree);
    }
    if (rc == PGB_OK) {
        ls.progress.phase = "copy";
        ls.progress.bytes_total = tree.file_bytes;
        ls.progress.files_total = tree.file_count;
        rc = pgb_progress_report(ctx, &ls.progress);
    }
    if (rc == PGB_OK)
        rc = pgb_local_copy_tree(copy, &tree, start_lsn, &ls.progress);
    /* pg_control last, once everything else is copied. */
    if (rc == PGB_OK)
        rc = pgb_local_copy_file(copy, &tree.entries[tree.count - 1]);
    if (rc == PGB_OK) {
        ls.progress.bytes_done = pgb_local_copy_bytes(copy);
        ls.progress.files_done = tree.file_count;
        rc = pgb_progress_report(ctx, &ls.progress);
    }
    if (rc == PGB_OK)
        rc = stop_backup(&ls, start_lsn, &end_lsn, &labelfile);
    if (rc == PGB_OK)
        rc = pgb_local_copy_bad_pages(copy, &bad, &bad_count);
    if (rc == PGB_OK)
        rc = report_bad_pages(job, bad, bad_count);
    if (rc == PGB_OK)
        rc = pgb_local_copy_add(copy, "backup_label", 0600, labelfile, strlen(labelfile));
    if (rc == PGB_OK) {
        ls.progress.phase = "wal";
        rc = pgb_progress_report(ctx, &ls.progress);
    }
    if (rc == PGB_OK)
        rc = pgb_wal_streamer_finish(ls.wal, end_lsn, &wal_names, &wal_count);
    if (rc == PGB_OK)
        rc = pgb_local_copy_finish(copy, &files, &stats);

    if (rc == PGB_OK)
        rc = pgb_physical_store_wal(job, spool, wal_names, wal_count, &stored);
    if (rc == PGB_OK)
        rc = make_manifest(&ls, &files, start_lsn, end_lsn, &manifest, &manifest_size);
    if (rc == PGB_OK)
        rc = pgb_physical_store_manifest(job, manifest, manifest_size, &stored);
    if (rc == PGB_OK)
        rc = pgb_server_config_store(job->repo, ls.sql, job->backup_id, &config);
    uint64_t list_size = 0;
    if (rc == PGB_OK)
        rc = pgb_file_list_store(job->repo, job->backup_id, &files, &list_size);
    if (rc == PGB_OK) {
        ls.progress.phase = "commit";
        stored += stats.stored_bytes + list_size;
        result.start_lsn = start_lsn;
        result.end_lsn = end_lsn;
        result.start_tli = result.end_tli = ls.timeline;
        result.tablespaces = tree.tablespaces; /* lent: the tree frees them */
        result.tablespace_count = tree.tablespace_count;
        snprintf(result.system_identifier, sizeof(result.system_identifier), "%s",
                 pgb_wal_streamer_system_identifier(ls.wal));
        result.server_version_num = PQserverVersion(ls.sql);
        job->record = pgb_physical_make_record(job, "local", &result, parent, started, &stats, stored, wal_names,
                                               wal_count, config);
        if (job->record) {
            json_object_set_new(job->record, "jobs", json_integer(pgb_local_copy_workers(copy)));
            json_object_set_new(job->record, "data_checksums_verified", json_boolean(ls.data_checksums));
            if (bad_count)
                json_object_set_new(job->record, "bad_pages", bad_pages_json(bad, bad_count));
        }
        rc = pgb_physical_commit_record(job);
    }

    /* On failure, closing the held connection (last) makes the server abort the backup it still runs. */
    pgb_wal_streamer_free(ls.wal); /* owns the segment names */
    pgb_physical_spool_remove(spool, spool_made);
    pgb_local_copy_free(copy);
    pgb_data_dir_clear(&tree);
    pgb_file_list_clear(&files);
    pgb_file_list_clear(&parent_list);
    free(labelfile);
    free(manifest);
    json_decref(parent_record);
    json_decref(config);
    PQfinish(ls.sql);
    return rc;
}
