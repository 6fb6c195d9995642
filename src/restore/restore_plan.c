/*
 * Physical restore plans: choose the backup, check the target and the
 * tablespaces before anything is written, then write.
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
    char *json;
};

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

/* A server running on dir: postmaster.pid names a live process. */
static int server_running(const char *dir, long *pid)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    *pid = 0;
    int found = fscanf(f, "%ld", pid) == 1;
    fclose(f);
    return found && *pid > 0 && (kill((pid_t)*pid, 0) == 0 || errno == EPERM);
}

static int choose_backup(pgb_restore_plan *p, const char *wanted)
{
    pgb_ctx *ctx = p->repo->ctx;
    json_t *records = NULL;
    int rc = pgb_catalog_read_all(p->repo, &records);
    for (size_t i = json_array_size(records); rc == PGB_OK && i > 0 && !p->record; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *id = json_string_value(json_object_get(r, "id"));
        const char *type = json_string_value(json_object_get(r, "type"));
        if (wanted ? strcmp(id, wanted) == 0 : (type && strcmp(type, "physical") == 0))
            p->record = json_incref(r);
    }
    json_decref(records);
    if (rc != PGB_OK)
        return rc;
    if (!p->record)
        return wanted ? pgb_error_set(ctx, PGB_ENOTFOUND, "backup %s not found in cluster %s", wanted,
                                      p->repo->cluster)
                      : pgb_error_set(ctx, PGB_ENOTFOUND, "cluster %s has no physical backup to restore",
                                      p->repo->cluster);
    const char *type = json_string_value(json_object_get(p->record, "type"));
    if (!type || strcmp(type, "physical") != 0)
        return pgb_error_set(ctx, PGB_EINVALID, "backup %s is a %s backup: a physical restore needs a physical one",
                             wanted, type ? type : "?");
    p->backup_id = pgb_text_dup(json_string_value(json_object_get(p->record, "id")));
    return p->backup_id ? PGB_OK : pgb_error_nomem(ctx);
}

/* Where tablespace oid (at location) goes: an OLD=NEW option whose OLD is the oid or the location. */
static const char *mapped_location(const pgb_options *opts, unsigned oid, const char *location)
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
    return location;
}

static int plan_tablespaces(pgb_restore_plan *p, const pgb_options *opts)
{
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
        const char *to = mapped_location(opts, oid, from ? from : "");
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
    p->json = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return p->json ? PGB_OK : pgb_error_nomem(p->repo->ctx);
}

int pgb_restore_plan_new(pgb_restore_plan **out, pgb_repo *repo, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_restore_plan_new: out is NULL");
    *out = NULL;
    const char *target = NULL, *wanted = NULL, *config_to = NULL;
    int delta = 0;
    if (opts) {
        pgb_options_get(opts, "to", &target);
        pgb_options_get(opts, "backup", &wanted);
        pgb_options_get(opts, "config-to", &config_to);
        pgb_options_get_bool(opts, "delta", &delta);
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
    p->jobs = pgb_read_jobs(opts);
    p->target = pgb_text_dup(target);
    p->config_to = config_to ? pgb_text_dup(config_to) : NULL;
    int rc = p->target && (!config_to || p->config_to) ? PGB_OK : pgb_error_nomem(ctx);
    long pid = 0;
    if (rc == PGB_OK && server_running(target, &pid))
        rc = pgb_error_set(ctx, PGB_EREFUSED, "refusing to restore into %s: a PostgreSQL server (pid %ld) is running "
                           "on it", target, pid);
    if (rc == PGB_OK && !p->delta && !folder_is_empty(target))
        rc = pgb_error_set(ctx, PGB_EREFUSED, "refusing to restore into %s: it is not empty (--delta reuses what "
                           "is there)", target);
    if (rc == PGB_OK)
        rc = choose_backup(p, wanted);
    if (rc == PGB_OK)
        rc = plan_tablespaces(p, opts);
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
    if (server_running(p->target, &pid)) /* it may have started since the plan was made */
        return pgb_error_set(repo->ctx, PGB_EREFUSED, "refusing to restore into %s: a PostgreSQL server (pid %ld) is "
                             "running on it", p->target, pid);
    if (mkdir(p->target, 0700) != 0 && errno != EEXIST)
        return pgb_error_set(repo->ctx, PGB_EIO, "cannot make folder %s: %s", p->target, strerror(errno));
    chmod(p->target, 0700); /* PostgreSQL refuses a data directory others may enter */
    struct pgb_file_list list;
    int rc = pgb_file_list_load(repo, p->backup_id, &list);
    struct pgb_file_restore_options options = {p->delta, p->tablespaces, p->tablespace_count, p->jobs};
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
    free(p->backup_id);
    free(p->target);
    free(p->config_to);
    free(p->json);
    p->magic = PGB_MAGIC_FREED;
    free(p);
}
