#include "strategy/facts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/probe.h>
#include <pgbackup/storage.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/text.h"
#include "pg/connection.h"
#include "pipeline/object.h"
#include "repo/catalog.h"
#include "wal/wal_file.h"
#include "wal/wal_sum.h"

struct newest {
    uint64_t files;
    char name[64];
};

/* The newest segment (complete or partial) by timeline then position: names sort that way. */
static int each_archived(const char *key, uint64_t size, void *payload)
{
    (void)size;
    struct newest *n = payload;
    const char *name = strrchr(key, '/');
    name = name ? name + 1 : key;
    int kind = 0;
    size_t len = strlen(name);
    if ((len > 4 && strcmp(name + len - 4, ".sum") == 0) || len >= sizeof(n->name) ||
        pgb_wal_file_classify(NULL, NULL, name, &kind, NULL) != PGB_OK)
        return 0;
    n->files++;
    if ((kind == PGB_WAL_FILE_SEGMENT || kind == PGB_WAL_FILE_PARTIAL) && strncmp(name, n->name, 24) >= 0 &&
        (strncmp(name, n->name, 24) > 0 || kind == PGB_WAL_FILE_SEGMENT))
        snprintf(n->name, sizeof(n->name), "%s", name);
    return 0;
}

static int collect_archive(struct pgb_repo *repo, struct pgb_strategy_facts *f)
{
    char prefix[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "wal/", prefix);
    struct newest n = {0, ""};
    int rc = pgb_storage_list(repo->storage, prefix, each_archived, &n);
    if (rc != PGB_OK)
        return rc;
    f->archived_files = n.files;
    snprintf(f->newest_segment, sizeof(f->newest_segment), "%.24s", n.name);
    if (n.name[0]) {
        uint32_t timeline = 0;
        int kind = 0;
        char key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
        pgb_wal_file_classify(NULL, NULL, n.name, &kind, &timeline);
        pgb_wal_archive_key(repo, n.name, timeline, key);
        pgb_wal_sum_key(key, sum_key);
        struct pgb_wal_sum sum;
        if (pgb_wal_sum_read(repo, sum_key, n.name, &sum) == PGB_OK)
            f->newest_archived_at = sum.archived_at;
        pgb_error_clear(repo->ctx);
    }
    return PGB_OK;
}

static void collect_runbook(struct pgb_repo *repo, struct pgb_strategy_facts *f)
{
    char key[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, PGB_RUNBOOK_MARKER, key);
    char *text = NULL;
    size_t size = 0;
    if (pgb_object_get(repo->storage, key, &repo->keys, (void **)&text, &size) == PGB_OK) {
        json_t *doc = json_loads(text, 0, NULL);
        int64_t micros = 0;
        const char *when = json_string_value(json_object_get(doc, "generated_at"));
        if (when && pgb_time_parse_iso8601(when, &micros) == 0)
            f->runbook_at = micros / 1000000;
        json_decref(doc);
    }
    free(text);
    pgb_error_clear(repo->ctx);
}

/* A host part that means this machine: none (a socket), a socket folder, localhost or loopback. */
static int is_local_host(const char *host)
{
    return !host || !*host || host[0] == '/' || strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

static void collect_server(struct pgb_repo *repo, const char *conninfo, struct pgb_strategy_facts *f)
{
    pgb_ctx *ctx = repo->ctx;
    pgb_server_info *info = NULL;
    if (pgb_pg_probe(&info, ctx, conninfo) == PGB_OK) {
        f->server = json_loads(pgb_server_info_to_json(info), 0, NULL);
        f->server_is_local = is_local_host(json_string_value(json_object_get(f->server, "host")));
    } else {
        f->server_error = pgb_text_dup(pgb_ctx_errmsg(ctx));
    }
    pgb_server_info_free(info);
    PGconn *conn = NULL;
    PGresult *res = NULL;
    if (f->server && pgb_pg_connect(ctx, conninfo, PGB_PG_SQL, &conn) == PGB_OK &&
        pgb_pg_query(ctx, conn, "SELECT count(*) FROM pg_stat_replication", &res) == PGB_OK)
        f->standbys = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(conn);
    pgb_error_clear(ctx);
}

int pgb_strategy_facts_collect(struct pgb_repo *repo, const pgb_options *opts, struct pgb_strategy_facts *out)
{
    memset(out, 0, sizeof(*out));
    out->now = (int64_t)time(NULL);
    out->cluster = repo->cluster;
    out->standbys = -1;
    out->encryption = repo->encryption;
    const char *name = pgb_storage_name(repo->storage);
    out->local_repository = name && (name[0] == '/' || strncmp(name, "file://", 7) == 0 || !strstr(name, "://"));
    int rc = pgb_catalog_read_all(repo, &out->backups);
    if (rc == PGB_OK)
        rc = pgb_catalog_read_folder(repo, "drills/", &out->drills);
    if (rc == PGB_OK)
        rc = pgb_policy_load(&out->policy, repo);
    if (rc == PGB_OK) {
        json_t *policy = json_loads(pgb_policy_to_json(out->policy), 0, NULL);
        int64_t micros = 0;
        const char *updated = json_string_value(json_object_get(policy, "updated_at"));
        if (updated && pgb_time_parse_iso8601(updated, &micros) == 0)
            out->policy_updated_at = micros / 1000000;
        json_decref(policy);
        rc = collect_archive(repo, out);
    }
    if (rc == PGB_OK)
        collect_runbook(repo, out);
    const char *conninfo = NULL;
    if (rc == PGB_OK && opts && pgb_options_get(opts, "pg", &conninfo) == PGB_OK && conninfo)
        collect_server(repo, conninfo, out);
    if (rc != PGB_OK)
        pgb_strategy_facts_clear(out);
    return rc;
}

void pgb_strategy_facts_clear(struct pgb_strategy_facts *f)
{
    json_decref(f->backups);
    json_decref(f->drills);
    json_decref(f->server);
    pgb_policy_free(f->policy);
    free(f->server_error);
    memset(f, 0, sizeof(*f));
}

json_t *pgb_strategy_newest_backup(const struct pgb_strategy_facts *f, const char *type)
{
    for (size_t i = json_array_size(f->backups); i > 0; i--) {
        json_t *r = json_array_get(f->backups, i - 1);
        const char *t = json_string_value(json_object_get(r, "type"));
        if (t && strcmp(t, type) == 0)
            return r;
    }
    return NULL;
}

int64_t pgb_strategy_age(const struct pgb_strategy_facts *f, json_t *object, const char *field)
{
    int64_t micros = 0;
    const char *when = json_string_value(json_object_get(object, field));
    if (!when || pgb_time_parse_iso8601(when, &micros) != 0)
        return -1;
    int64_t age = f->now - micros / 1000000;
    return age > 0 ? age : 0;
}

json_t *pgb_strategy_last_drill(const struct pgb_strategy_facts *f)
{
    size_t n = json_array_size(f->drills);
    return n ? json_array_get(f->drills, n - 1) : NULL;
}
