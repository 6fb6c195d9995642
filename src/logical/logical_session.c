#include "logical/logical_session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "logical/logical_job.h"
#include "pg/connection.h"
#include "repo/catalog.h"

enum { READ_SIZE = 1 << 20 };

/* The newest record of the cluster with a system identifier, and the newest of type (for chunk reuse). */
static int read_history(struct logical_session *s, char **known_system, char *parent, size_t parent_size)
{
    json_t *records = NULL;
    int rc = pgb_catalog_read_all(s->job->repo, &records);
    *known_system = NULL;
    parent[0] = '\0';
    for (size_t i = json_array_size(records); rc == PGB_OK && i > 0; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *system = json_string_value(json_object_get(r, "system_identifier"));
        const char *type = json_string_value(json_object_get(r, "type"));
        if (system && !*known_system && !(*known_system = pgb_text_dup(system)))
            rc = pgb_error_nomem(s->job->ctx);
        if (type && strcmp(type, s->job->type) == 0 && !parent[0])
            snprintf(parent, parent_size, "%s", json_string_value(json_object_get(r, "id")));
    }
    json_decref(records);
    return rc;
}

static int read_facts(struct logical_session *s)
{
    pgb_ctx *ctx = s->job->ctx;
    PGresult *res = NULL;
    int rc = pgb_pg_query(ctx, s->sql, "SELECT current_setting('server_version_num'), "
                                       "current_setting('server_version')", &res);
    if (rc == PGB_OK) {
        s->server_version_num = atoi(PQgetvalue(res, 0, 0));
        if (!(s->server_version = pgb_text_dup(PQgetvalue(res, 0, 1))))
            rc = pgb_error_nomem(ctx);
    }
    PQclear(res);
    /* Only superusers and roles granted pg_control_system may read it: optional. */
    res = PQexec(s->sql, "SELECT system_identifier::text FROM pg_control_system()");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        s->system_identifier = pgb_text_dup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

int pgb_logical_session_open(struct logical_session *s, struct pgb_job *job, const char *const *programs)
{
    memset(s, 0, sizeof(*s));
    s->job = job;
    s->started = time(NULL);
    pgb_ctx *ctx = job->ctx;
    char parent[128] = "", *known_system = NULL, *ignored = NULL;
    pgb_progress_begin(&s->progress, "connect");
    int rc = pgb_progress_report(ctx, &s->progress);
    if (rc == PGB_OK)
        rc = pgb_logical_connect(ctx, job->conninfo, NULL, &s->sql);
    if (rc == PGB_OK)
        rc = read_facts(s);
    if (rc == PGB_OK)
        rc = read_history(s, &known_system, parent, sizeof(parent));
    if (rc == PGB_OK && known_system && s->system_identifier && strcmp(known_system, s->system_identifier) != 0)
        rc = pgb_error_set(ctx, PGB_EREFUSED, "the server's system identifier %s differs from %s of the backups of "
                           "cluster %s: is --pg pointing at another cluster?", s->system_identifier, known_system,
                           job->repo->cluster);
    if (rc == PGB_OK)
        rc = pgb_pg_programs_find(ctx, job->logical->bindir, s->server_version_num, programs, &s->programs);
    if (rc == PGB_OK) {
        char path[PATH_MAX];
        pgb_pg_program_path(&s->programs, programs[0], path);
        const char *argv[] = {path, "--version", NULL};
        rc = pgb_child_run(ctx, argv, NULL, NULL, 0, &s->program_version, NULL);
        if (rc == PGB_OK)
            pgb_text_trim(s->program_version);
    }
    if (rc == PGB_OK)
        rc = pgb_conninfo_for_program(ctx, job->conninfo, NULL, &ignored, &s->password);
    if (rc == PGB_OK)
        rc = pgb_program_env_make(ctx, s->password, &s->env);
    /* An unchanged database dumps to the same bytes but its header's time: reuse the previous backup's chunks. */
    if (rc == PGB_OK && parent[0])
        rc = pgb_file_list_load(job->repo, parent, &s->parent_list);
    if (rc == PGB_OK) {
        pgb_job_make_backup_id(job, job->type);
        rc = pgb_content_writer_new(&s->content, job->repo, job->codec, job->level,
                                    s->parent_list.count ? &s->parent_list : NULL);
    }
    if (rc == PGB_OK && job->jobs > 1)
        rc = pgb_content_writer_use_thread(s->content, 1);
    free(known_system);
    free(ignored);
    return rc;
}

int pgb_logical_session_conninfo(struct logical_session *s, const char *dbname, char **out)
{
    char *password = NULL;
    int rc = pgb_conninfo_for_program(s->job->ctx, s->job->conninfo, dbname, out, &password);
    free(password);
    return rc;
}

int pgb_logical_session_store(struct logical_session *s, const char *path, const void *data, size_t size)
{
    int rc = pgb_content_writer_begin(s->content, path, PGB_FILE_REGULAR, 0600, (int64_t)time(NULL), NULL);
    if (rc == PGB_OK && size)
        rc = pgb_content_writer_data(s->content, data, size);
    if (rc == PGB_OK)
        rc = pgb_content_writer_end(s->content);
    return rc;
}

int pgb_logical_session_store_output(struct logical_session *s, const char *path, const char *what, pgb_child *child,
                                     pgb_archive_scanner *scanner, uint64_t *size)
{
    pgb_ctx *ctx = s->job->ctx;
    *size = 0;
    uint8_t *buffer = malloc(READ_SIZE);
    if (!buffer)
        return pgb_error_nomem(ctx);
    int rc = pgb_content_writer_begin(s->content, path, PGB_FILE_REGULAR, 0600, (int64_t)time(NULL), NULL);
    uint64_t last_report = 0;
    size_t got = 0;
    while (rc == PGB_OK && (rc = pgb_child_read(child, buffer, READ_SIZE, &got)) == PGB_OK && got) {
        if (scanner)
            rc = pgb_archive_scanner_feed(scanner, buffer, got);
        if (rc == PGB_OK)
            rc = pgb_content_writer_data(s->content, buffer, got);
        *size += got;
        s->progress.bytes_done += got;
        if (rc == PGB_OK && s->progress.bytes_done - last_report >= 8 * READ_SIZE) {
            last_report = s->progress.bytes_done;
            rc = pgb_progress_report(ctx, &s->progress);
        }
    }
    free(buffer);
    int status = 0;
    if (rc == PGB_OK)
        rc = pgb_child_wait(child, &status);
    /* The program's own words say best why it failed (and a broken archive follows from that). */
    if (rc == PGB_OK && status != 0)
        rc = pgb_child_fail(child, PGB_ERROR, what, status);
    if (rc == PGB_OK && scanner)
        rc = pgb_archive_scanner_finish(scanner);
    if (rc == PGB_OK)
        rc = pgb_content_writer_end(s->content);
    return rc;
}

int pgb_logical_session_store_file(struct logical_session *s, const char *path, const char *local_path,
                                   uint64_t *size)
{
    pgb_ctx *ctx = s->job->ctx;
    *size = 0;
    int fd = open(local_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pgb_error_set(ctx, PGB_EIO, "cannot open %s: %s", local_path, strerror(errno));
    uint8_t *buffer = malloc(READ_SIZE);
    int rc = buffer ? pgb_content_writer_begin(s->content, path, PGB_FILE_REGULAR, 0600, (int64_t)time(NULL), NULL)
                    : pgb_error_nomem(ctx);
    ssize_t n = 0;
    while (rc == PGB_OK && (n = read(fd, buffer, READ_SIZE)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = pgb_error_set(ctx, PGB_EIO, "cannot read %s: %s", local_path, strerror(errno));
            break;
        }
        rc = pgb_content_writer_data(s->content, buffer, (size_t)n);
        *size += (uint64_t)n;
        s->progress.bytes_done += (uint64_t)n;
    }
    if (rc == PGB_OK)
        rc = pgb_content_writer_end(s->content);
    if (rc == PGB_OK)
        rc = pgb_progress_report(ctx, &s->progress);
    free(buffer);
    close(fd);
    return rc;
}

int pgb_logical_session_commit(struct logical_session *s, json_t *record)
{
    struct pgb_job *job = s->job;
    pgb_ctx *ctx = job->ctx;
    s->progress.phase = "commit";
    int rc = record ? pgb_progress_report(ctx, &s->progress) : pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = pgb_content_writer_finish(s->content);
    uint64_t list_size = 0;
    if (rc == PGB_OK)
        rc = pgb_file_list_store(job->repo, job->backup_id, pgb_content_writer_list(s->content), &list_size);
    if (rc == PGB_OK) {
        char start_time[PGB_ISO8601_SIZE], stop_time[PGB_ISO8601_SIZE];
        pgb_time_iso8601(s->started, start_time);
        pgb_time_iso8601(time(NULL), stop_time);
        struct pgb_content_stats stats = pgb_content_writer_stats(s->content);
        json_t *facts = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s?, s:s, s:s, s:I, s:I, s:I, s:I}", "type", job->type,
                                  "start_time", start_time, "stop_time", stop_time, "pg_version_num",
                                  s->server_version_num, "server_version", s->server_version, "system_identifier",
                                  s->system_identifier, "program_version", s->program_version, "label",
                                  job->label ? job->label : job->backup_id, "stored_size",
                                  (json_int_t)(stats.stored_bytes + list_size), "files", (json_int_t)stats.files,
                                  "chunks_new", (json_int_t)stats.chunks_new, "chunks_reused",
                                  (json_int_t)stats.chunks_reused);
        if (!facts || json_object_update(record, facts) != 0)
            rc = pgb_error_nomem(ctx);
        json_decref(facts);
    }
    if (rc == PGB_OK)
        rc = pgb_catalog_commit(job->repo, job->backup_id, record);
    if (rc == PGB_OK) {
        job->record = record;
        record = NULL;
        job->record_json = json_dumps(job->record, JSON_INDENT(2) | JSON_SORT_KEYS);
        pgb_log(ctx, PGB_LOG_INFO, "backup %s committed", job->backup_id);
    }
    json_decref(record);
    return rc;
}

void pgb_logical_session_close(struct logical_session *s)
{
    pgb_content_writer_free(s->content);
    pgb_file_list_clear(&s->parent_list);
    pgb_program_env_clear(&s->env);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->program_version);
    free(s->server_version);
    free(s->system_identifier);
    PQfinish(s->sql);
    memset(s, 0, sizeof(*s));
}

static void notice_to_log(void *payload, const char *message)
{
    char *copy = pgb_text_dup(message);
    pgb_log(payload, PGB_LOG_DEBUG, "server: %s", copy ? pgb_text_trim(copy) : message);
    free(copy);
}

int pgb_logical_connect(pgb_ctx *ctx, const char *conninfo, const char *dbname, PGconn **out)
{
    char *with_dbname = NULL;
    int rc = dbname ? pgb_conninfo_with_dbname(ctx, conninfo, dbname, &with_dbname) : PGB_OK;
    if (rc == PGB_OK)
        rc = pgb_pg_connect(ctx, dbname ? with_dbname : conninfo, PGB_PG_SQL, out);
    if (rc == PGB_OK)
        PQsetNoticeProcessor(*out, notice_to_log, ctx);
    free(with_dbname);
    return rc;
}

int pgb_logical_database_path(pgb_ctx *ctx, const char *name, const char *file, char **out)
{
    size_t length = strlen(name);
    char *encoded = malloc(length * 3 + 1);
    if (!encoded)
        return pgb_error_nomem(ctx);
    char *p = encoded;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
            *c == '-')
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    *p = '\0';
    *out = pgb_text_printf("databases/%s/%s", encoded, file);
    free(encoded);
    return *out ? PGB_OK : pgb_error_nomem(ctx);
}
