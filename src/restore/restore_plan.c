/*
 * Physical restore plans: choose the backup for the recovery target, check
 * the WAL archive, the target folder and the tablespaces before anything is
 * written, then write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/restore.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/log.h"
#include "core/text.h"
#include "repo/catalog.h"
#include "repo/file_list.h"
#include "restore/file_restore.h"
#include "restore/pitr_plan.h"
#include "restore/recovery_command.h"
#include "restore/recovery_config.h"
#include "restore/recovery_target.h"
#include "restore/restore_plan_scratch.h"
#include "restore/server_pid.h"
#include "restore/read_workers.h"
#include "restore/restore_extras.h"

struct pgb_restore_plan {
    uint32_t magic;
    struct pgb_repo *repo;
    json_t *record;
    char *backup_id, *target, *config_to;
    int delta;
    int jobs;     /* threads writing files ("jobs") */
    int executed; /* a plan runs once: the target is no longer empty afterwards */
    struct pgb_tablespace_target *tablespaces;
    size_t tablespace_count;
    struct pgb_recovery_target recovery;
    struct pgb_pitr_plan pitr;
    int archive_off, keep_replication;
    char *restore_command, *fetch_config; /* when recovery reads the archive */
    char *json;
};

/*
 * Nominal rates for the plan's time estimate: files written from the
 * repository, and WAL replayed. Rough by design; drills measure the real one.
 */
#define NOMINAL_RESTORE_BYTES_PER_SECOND (200.0 * 1024 * 1024)
#define NOMINAL_REPLAY_BYTES_PER_SECOND (64.0 * 1024 * 1024)

static int is_plan(const pgb_restore_plan *p)
{
    return p && p->magic == PGB_MAGIC_RESTORE_PLAN && pgb_repo_is_valid(p->repo);
}

/* Empty or absent: 1; holds entries: 0. */
static int folder_is_empty(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(dir)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(dir);
    return empty;
}

/* The backup and the WAL it needs to reach the target; then, when the archive is read, restore_command. */
static int plan_recovery(pgb_restore_plan *p, const pgb_options *opts, const char *wanted)
{
    pgb_ctx *ctx = p->repo->ctx;
    json_t *records = NULL;
    int rc = pgb_catalog_read_all(p->repo, &records);
    if (rc == PGB_OK)
        rc = pgb_pitr_plan_make(p->repo, records, wanted, &p->recovery, &p->pitr);
    json_decref(records);
    if (rc != PGB_OK)
        return rc;
    p->record = json_incref(p->pitr.record);
    p->backup_id = pgb_text_dup(json_string_value(json_object_get(p->record, "id")));
    if (!p->backup_id)
        return pgb_error_nomem(ctx);
    if (!p->pitr.from_archive)
        return PGB_OK;
    char cwd[PATH_MAX];
    char *config_path = p->target[0] == '/' ? pgb_text_printf("%s/%s", p->target, PGB_RECOVERY_CONFIG_FILE)
                        : getcwd(cwd, sizeof(cwd)) ? pgb_text_printf("%s/%s/%s", cwd, p->target, PGB_RECOVERY_CONFIG_FILE)
                                                   : NULL;
    if (!config_path)
        return pgb_error_set(ctx, PGB_EIO, "cannot tell the absolute path of %s", p->target);
    rc = pgb_recovery_fetch_config(p->repo, opts, &p->fetch_config);
    if (rc == PGB_OK)
        rc = pgb_recovery_restore_command(ctx, opts, config_path, &p->restore_command);
    free(config_path);
    return rc;
}

/*
 * Where tablespace oid (at location) goes: an OLD=NEW option whose OLD is the
 * oid or the location; else, for a scratch restore, <scratch>/<oid>.
 */
static const char *mapped_location(const pgb_options *opts, unsigned oid, const char *location, const char *scratch,
                                   char *buffer, size_t size)
{
    const char *value;
    for (size_t i = 0; opts && pgb_options_get_at(opts, "tablespace-map", i, &value) == PGB_OK && value; i++) {
        const char *equals = strchr(value, '=');
        if (!equals)
            continue;
        char oid_text[16];
        snprintf(oid_text, sizeof(oid_text), "%u", oid);
        size_t len = (size_t)(equals - value);
        if ((strlen(oid_text) == len && strncmp(value, oid_text, len) == 0) ||
            (strlen(location) == len && strncmp(value, location, len) == 0))
            return equals + 1;
    }
    if (scratch) {
        snprintf(buffer, size, "%s/%u", scratch, oid);
        return buffer;
    }
    return location;
}

static int plan_tablespaces(pgb_restore_plan *p, const pgb_options *opts, const char *scratch)
{
    char buffer[PATH_MAX];
    pgb_ctx *ctx = p->repo->ctx;
    json_t *list = json_object_get(p->record, "tablespaces");
    p->tablespace_count = json_array_size(list);
    p->tablespaces = p->tablespace_count ? calloc(p->tablespace_count, sizeof(*p->tablespaces)) : NULL;
    if (p->tablespace_count && !p->tablespaces)
        return pgb_error_nomem(ctx);
    for (size_t i = 0; i < p->tablespace_count; i++) {
        json_t *t = json_array_get(list, i);
        unsigned oid = (unsigned)json_integer_value(json_object_get(t, "oid"));
        const char *from = json_string_value(json_object_get(t, "location"));
        const char *to = mapped_location(opts, oid, from ? from : "", scratch, buffer, sizeof(buffer));
        p->tablespaces[i].oid = oid;
        p->tablespaces[i].location = pgb_text_dup(to);
        if (!p->tablespaces[i].location)
            return pgb_error_nomem(ctx);
        if (to[0] != '/')
            return pgb_error_set(ctx, PGB_EINVALID, "tablespace %u would go to '%s': locations must be absolute",
                                 oid, to);
        if (!p->delta && !folder_is_empty(to))
            return pgb_error_set(ctx, PGB_EREFUSED, "tablespace %u would be restored into %s, which is not empty "
                                 "(it may belong to a running cluster): give --tablespace-map %u=NEWDIR", oid, to, oid);
    }
    return PGB_OK;
}

static int build_json(pgb_restore_plan *p)
{
    json_t *tablespaces = json_array();
    json_t *recorded = json_object_get(p->record, "tablespaces");
    for (size_t i = 0; i < p->tablespace_count; i++)
        json_array_append_new(tablespaces, json_pack("{s:i, s:s, s:s}", "oid", (int)p->tablespaces[i].oid, "from",
                                                     json_string_value(json_object_get(json_array_get(recorded, i),
                                                                                       "location")) ?: "",
                                                     "to", p->tablespaces[i].location));
    json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:b, s:o, s:O, s:O, s:O, s:O, s:O}", "format_version", 1, "type",
                            "physical", "backup", p->backup_id, "target", p->target, "delta", p->delta,
                            "tablespaces", tablespaces, "files", json_object_get(p->record, "files"), "bytes",
                            json_object_get(p->record, "database_size"), "start_lsn",
                            json_object_get(p->record, "start_lsn"), "stop_lsn",
                            json_object_get(p->record, "stop_lsn"), "wal", json_object_get(p->record, "wal"));
    double bytes = (double)json_integer_value(json_object_get(p->record, "database_size"));
    double wal = (double)((p->pitr.archive_segments + p->pitr.backup_segments) * p->pitr.segment_size);
    if (doc) {
        json_object_set_new(doc, "recovery", pgb_pitr_plan_json(&p->pitr, &p->recovery));
        json_object_set_new(doc, "archive_mode", json_string(p->archive_off ? "off" : "preserve"));
        json_object_set_new(doc, "restore_command", p->restore_command ? json_string(p->restore_command) : json_null());
        json_object_set_new(doc, "estimated_seconds", json_integer((json_int_t)(bytes / NOMINAL_RESTORE_BYTES_PER_SECOND +
                                                                                wal / NOMINAL_REPLAY_BYTES_PER_SECOND +
                                                                                1)));
    }
    p->json = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return p->json ? PGB_OK : pgb_error_nomem(p->repo->ctx);
}

int pgb_restore_plan_new(pgb_restore_plan **out, pgb_repo *repo, const pgb_options *opts)
{
    return pgb_restore_plan_new_scratch(out, repo, opts, NULL);
}

int pgb_restore_plan_new_scratch(pgb_restore_plan **out, pgb_repo *repo, const pgb_options *opts,
                                 const char *tablespace_folder)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_restore_plan_new: out is NULL");
    *out = NULL;
    const char *target = NULL, *wanted = NULL, *config_to = NULL, *archive_mode = NULL;
    int delta = 0, keep_replication = 0;
    if (opts) {
        pgb_options_get(opts, "to", &target);
        pgb_options_get(opts, "backup", &wanted);
        pgb_options_get(opts, "config-to", &config_to);
        pgb_options_get_bool(opts, "delta", &delta);
        pgb_options_get(opts, "archive-mode", &archive_mode);
        pgb_options_get_bool(opts, "keep-replication", &keep_replication);
    }
    if (!target)
        return pgb_error_set(ctx, PGB_EINVALID, "a restore needs a target folder (option to)");
    if (!pgb_repo_can_read(repo))
        return pgb_error_set(ctx, PGB_EAUTH, "this repository handle holds only the writer key: a restore needs "
                             "--identity or --passphrase-file");
    pgb_restore_plan *p = calloc(1, sizeof(*p));
    if (!p)
        return pgb_error_nomem(ctx);
    p->magic = PGB_MAGIC_RESTORE_PLAN;
    p->repo = repo;
    p->delta = delta == 1;
    p->archive_off = archive_mode && strcmp(archive_mode, "off") == 0;
    p->keep_replication = keep_replication == 1;
    p->jobs = pgb_read_jobs(opts);
    p->target = pgb_text_dup(target);
    p->config_to = config_to ? pgb_text_dup(config_to) : NULL;
    int rc = p->target && (!config_to || p->config_to) ? PGB_OK : pgb_error_nomem(ctx);
    if (rc == PGB_OK)
        rc = pgb_recovery_target_read(ctx, opts, &p->recovery);
    long pid = 0;
    if (rc == PGB_OK && pgb_server_running(target, &pid))
        rc = pgb_error_set(ctx, PGB_EREFUSED, "refusing to restore into %s: a PostgreSQL server (pid %ld) is running "
                           "on it", target, pid);
    if (rc == PGB_OK && !p->delta && !folder_is_empty(target))
        rc = pgb_error_set(ctx, PGB_EREFUSED, "refusing to restore into %s: it is not empty (--delta reuses what "
                           "is there)", target);
    if (rc == PGB_OK)
        rc = plan_recovery(p, opts, wanted);
    if (rc == PGB_OK)
        rc = plan_tablespaces(p, opts, tablespace_folder);
    if (rc == PGB_OK)
        rc = build_json(p);
    if (rc != PGB_OK) {
        pgb_restore_plan_free(p);
        return rc;
    }
    *out = p;
    return PGB_OK;
}

const char *pgb_restore_plan_backup_id(const pgb_restore_plan *p)
{
    return is_plan(p) ? p->backup_id : NULL;
}

const char *pgb_restore_plan_to_json(const pgb_restore_plan *p)
{
    return is_plan(p) ? p->json : NULL;
}

/* Before pg_control: how the server recovers, so that a restored directory never starts any other way. */
static int write_recovery_settings(void *payload)
{
    pgb_restore_plan *p = payload;
    struct pgb_recovery_settings settings = {&p->recovery, p->backup_id, p->pitr.from_archive, p->archive_off,
                                             p->keep_replication, p->restore_command, p->fetch_config};
    return pgb_recovery_config_write(p->repo->ctx, p->target, &settings);
}

int pgb_restore_plan_execute(pgb_restore_plan *p)
{
    if (!is_plan(p))
        return PGB_EINVALID;
    struct pgb_repo *repo = p->repo;
    pgb_error_clear(repo->ctx);
    if (p->executed)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "restore plan of backup %s into %s was executed already: "
                             "a plan runs once", p->backup_id, p->target);
    p->executed = 1;
    long pid = 0;
    if (pgb_server_running(p->target, &pid)) /* it may have started since the plan was made */
        return pgb_error_set(repo->ctx, PGB_EREFUSED, "refusing to restore into %s: a PostgreSQL server (pid %ld) is "
                             "running on it", p->target, pid);
    if (mkdir(p->target, 0700) != 0 && errno != EEXIST)
        return pgb_error_set(repo->ctx, PGB_EIO, "cannot make folder %s: %s", p->target, strerror(errno));
    chmod(p->target, 0700); /* PostgreSQL refuses a data directory others may enter */
    struct pgb_file_list list;
    int rc = pgb_file_list_load(repo, p->backup_id, &list);
    struct pgb_file_restore_options options = {p->delta, p->tablespaces, p->tablespace_count, p->jobs,
                                               write_recovery_settings, p};
    struct pgb_file_restore_stats stats;
    if (rc == PGB_OK)
        rc = pgb_restore_extras(repo, p->record, p->target, p->config_to);
    if (rc == PGB_OK)
        rc = pgb_restore_files(repo, &list, p->target, &options, &stats);
    pgb_file_list_clear(&list);
    if (rc == PGB_OK)
        pgb_log(repo->ctx, PGB_LOG_INFO, "restored backup %s into %s: %llu files, %llu reused", p->backup_id, p->target,
                (unsigned long long)stats.files, (unsigned long long)stats.files_reused);
    return rc;
}

void pgb_restore_plan_free(pgb_restore_plan *p)
{
    if (!p || p->magic != PGB_MAGIC_RESTORE_PLAN)
        return;
    for (size_t i = 0; i < p->tablespace_count; i++)
        free((char *)p->tablespaces[i].location);
    free(p->tablespaces);
    json_decref(p->record);
    pgb_pitr_plan_clear(&p->pitr);
    free(p->restore_command);
    free(p->fetch_config);
    free(p->backup_id);
    free(p->target);
    free(p->config_to);
    free(p->json);
    p->magic = PGB_MAGIC_FREED;
    free(p);
}
