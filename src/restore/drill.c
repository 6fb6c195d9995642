/*
 * Restore drills: plan and restore into a scratch folder, start a server that
 * reaches nothing outside, wait for it at the target, probe and check it,
 * stop it and remove everything, then store the report ("drills/<id>" in the
 * cluster, sealed like the catalog).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <pgbackup/drill.h>
#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/policy.h>

#include "core/clock.h"
#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/log.h"
#include "core/text.h"
#include "pipeline/object.h"
#include "repo/repo.h"
#include "restore/drill_checks.h"
#include "restore/drill_logical.h"
#include "restore/drill_server.h"
#include "restore/recovery_target.h"
#include "restore/restore_plan_scratch.h"

/* The restore options a drill passes on to its plan. */
static const char *const plan_options[] = {
    "backup",      "target",          "target-time", "target-lsn",   "target-xid",    "target-name",
    "target-inclusive", "target-timeline", "jobs",   "program",      "repo",          "cluster",
    "identity",    "passphrase-file", "s3-endpoint", "s3-region",    "s3-uri-style",  "s3-ca-file",
    "s3-no-verify-tls", "sftp-key",   "sftp-known-hosts", "pg-bindir", "s3-credentials-file", "s3-profile",
    "s3-conditional-write", "storage-timeout"};

struct pgb_drill {
    uint32_t magic;
    struct pgb_repo *repo;
    pgb_options *plan_opts;
    char **probes;
    size_t probe_count;
    char *role, *scratch_base, *bindir;
    struct pgb_drill_server server;
    int timeout_s;
    int logical; /* restore a logical backup into an empty scratch cluster */
    int ran, passed;
    double rto;
    json_t *report;
    char *json;
};

static int is_drill(const pgb_drill *d)
{
    return d && d->magic == PGB_MAGIC_DRILL && pgb_repo_is_valid(d->repo);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int copy_options(pgb_drill *d, const pgb_options *opts)
{
    pgb_ctx *ctx = d->repo->ctx;
    int rc = pgb_options_new(&d->plan_opts, ctx);
    for (size_t i = 0; rc == PGB_OK && opts && i < sizeof(plan_options) / sizeof(plan_options[0]); i++) {
        const char *value = NULL;
        if (pgb_options_source(opts, plan_options[i]) > 0 && pgb_options_get(opts, plan_options[i], &value) == PGB_OK &&
            value)
            rc = pgb_options_set(d->plan_opts, plan_options[i], value);
    }
    const char *db = NULL;
    for (size_t i = 0; rc == PGB_OK && opts && pgb_options_get_at(opts, "db", i, &db) == PGB_OK && db; i++)
        rc = pgb_options_set(d->plan_opts, "db", db);
    /* A drill never archives, never replicates, and ends recovery at its target. */
    if (rc == PGB_OK)
        rc = pgb_options_set(d->plan_opts, "archive-mode", "off");
    if (rc == PGB_OK)
        rc = pgb_options_set(d->plan_opts, "keep-replication", "false");
    if (rc == PGB_OK)
        rc = pgb_options_set(d->plan_opts, "target-action", "promote");
    return rc;
}

static int read_probes(pgb_drill *d, const pgb_options *opts)
{
    const char *value = NULL;
    for (size_t i = 0; opts && pgb_options_get_at(opts, "probe", i, &value) == PGB_OK && value; i++) {
        char **grown = realloc(d->probes, (d->probe_count + 1) * sizeof(*grown));
        if (!grown)
            return pgb_error_nomem(d->repo->ctx);
        d->probes = grown;
        d->probes[d->probe_count] = pgb_text_dup(value);
        if (!d->probes[d->probe_count++])
            return pgb_error_nomem(d->repo->ctx);
    }
    return PGB_OK;
}

/* PostgreSQL refuses to run as root: a root caller names the user the server runs as. */
static int read_user(pgb_drill *d, const pgb_options *opts)
{
    const char *user = NULL;
    if (opts)
        pgb_options_get(opts, "drill-user", &user);
    if (geteuid() != 0)
        return PGB_OK;
    if (!user)
        return pgb_error_set(d->repo->ctx, PGB_EINVALID, "PostgreSQL refuses to run as root: set drill-user to the "
                             "unprivileged user that runs the drill's server");
    struct passwd *pw = getpwnam(user);
    if (!pw || pw->pw_uid == 0)
        return pgb_error_set(d->repo->ctx, PGB_EINVALID, "drill-user %s is %s", user,
                             pw ? "root: PostgreSQL refuses to run as root" : "not a user of this host");
    d->server.run_as_other = 1;
    d->server.uid = pw->pw_uid;
    d->server.gid = pw->pw_gid;
    return PGB_OK;
}

static int copy_text_option(const pgb_options *opts, const char *key, char **out)
{
    const char *value = NULL;
    if (opts)
        pgb_options_get(opts, key, &value);
    *out = value ? pgb_text_dup(value) : NULL;
    return !value || *out ? PGB_OK : PGB_ENOMEM;
}

int pgb_drill_new(pgb_drill **out, pgb_repo *repo, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_drill_new: out is NULL");
    *out = NULL;
    const char *kind = NULL;
    if (opts)
        pgb_options_get(opts, "kind", &kind);
    if (kind && strcmp(kind, "physical") != 0 && strcmp(kind, "logical") != 0)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED, "drills of kind %s are not available (physical and logical are)",
                             kind);
    if (!pgb_repo_can_read(repo))
        return pgb_error_set(ctx, PGB_EAUTH, "this repository handle holds only the writer key: a drill restores, "
                             "so it needs --identity or --passphrase-file");
    pgb_drill *d = calloc(1, sizeof(*d));
    if (!d)
        return pgb_error_nomem(ctx);
    d->magic = PGB_MAGIC_DRILL;
    d->repo = repo;
    d->rto = -1;
    d->logical = kind && strcmp(kind, "logical") == 0;
    int64_t timeout = 3600;
    if (opts)
        pgb_options_get_int(opts, "drill-timeout", &timeout);
    d->timeout_s = timeout > 0 && timeout < 7 * 86400 ? (int)timeout : 3600;
    int rc = copy_options(d, opts);
    struct pgb_recovery_target target;
    if (rc == PGB_OK)
        rc = pgb_recovery_target_read(ctx, d->plan_opts, &target);
    if (rc == PGB_OK)
        rc = read_probes(d, opts);
    if (rc == PGB_OK)
        rc = read_user(d, opts);
    if (rc == PGB_OK && (copy_text_option(opts, "drill-role", &d->role) ||
                         copy_text_option(opts, "scratch-dir", &d->scratch_base) ||
                         copy_text_option(opts, "pg-bindir", &d->bindir)))
        rc = pgb_error_nomem(ctx);
    if (rc != PGB_OK) {
        pgb_drill_free(d);
        return rc;
    }
    *out = d;
    return PGB_OK;
}

/* Record one step of the report; returns ok. */
static int step(pgb_drill *d, const char *name, double started, int ok, const char *detail)
{
    json_array_append_new(json_object_get(d->report, "steps"),
                          json_pack("{s:s, s:f, s:b, s:s?}", "name", name, "seconds", now_seconds() - started, "ok", ok,
                                    "detail", detail));
    if (!ok && json_is_null(json_object_get(d->report, "error")))
        json_object_set_new(d->report, "error", json_string(detail ? detail : name));
    return ok;
}

/* The roles to try for connections: drill-role, postgres, this user's name. */
static void connect_roles(const pgb_drill *d, const char *roles[4])
{
    size_t n = 0;
    if (d->role)
        roles[n++] = d->role;
    roles[n++] = "postgres";
    struct passwd *pw = getpwuid(d->server.run_as_other ? d->server.uid : geteuid());
    if (pw && strcmp(pw->pw_name, "postgres") != 0)
        roles[n++] = pw->pw_name;
    roles[n] = NULL;
}

/* Plan and restore into the scratch folder; the plan's backup and target go into the report. */
static int restore_scratch(pgb_drill *d, const char *scratch)
{
    pgb_ctx *ctx = d->repo->ctx;
    double started = now_seconds();
    char tablespaces[600];
    snprintf(d->server.data, sizeof(d->server.data), "%s/data", scratch);
    snprintf(tablespaces, sizeof(tablespaces), "%s/tablespaces", scratch);
    pgb_restore_plan *plan = NULL;
    int rc = pgb_options_set(d->plan_opts, "to", d->server.data);
    if (rc == PGB_OK)
        rc = pgb_restore_plan_new_scratch(&plan, d->repo, d->plan_opts, tablespaces);
    if (rc == PGB_OK) {
        json_t *doc = json_loads(pgb_restore_plan_to_json(plan), 0, NULL);
        json_object_set(d->report, "backup", json_object_get(doc, "backup"));
        json_object_set(d->report, "target", json_object_get(json_object_get(doc, "recovery"), "target"));
        json_decref(doc);
    }
    if (!step(d, "plan", started, rc == PGB_OK, rc == PGB_OK ? NULL : pgb_ctx_errmsg(ctx))) {
        pgb_restore_plan_free(plan);
        return rc;
    }
    started = now_seconds();
    rc = pgb_restore_plan_execute(plan);
    step(d, "restore", started, rc == PGB_OK, rc == PGB_OK ? NULL : pgb_ctx_errmsg(ctx));
    pgb_restore_plan_free(plan);
    return rc;
}

/* The server's major version, from the restored PG_VERSION. */
static int restored_major(const pgb_drill *d)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/PG_VERSION", d->server.data);
    FILE *f = fopen(path, "r");
    int major = 0;
    if (f) {
        if (fscanf(f, "%d", &major) != 1)
            major = 0;
        fclose(f);
    }
    return major;
}

/* Configure, start, wait for the target: the measured RTO ends when it accepts queries there. */
static int start_scratch(pgb_drill *d, const char *scratch, double drill_started, char conninfo[1024])
{
    pgb_ctx *ctx = d->repo->ctx;
    double started = now_seconds();
    snprintf(d->server.socket, sizeof(d->server.socket), "%s", scratch);
    snprintf(d->server.log, sizeof(d->server.log), "%s/server.log", scratch);
    int rc = pgb_drill_find_bindir(ctx, d->bindir, restored_major(d), d->server.bindir);
    if (rc == PGB_OK)
        rc = pgb_drill_server_configure(ctx, &d->server);
    if (rc == PGB_OK)
        rc = pgb_drill_server_chown(ctx, scratch, &d->server);
    if (rc == PGB_OK)
        rc = pgb_drill_server_start(ctx, &d->server);
    if (!step(d, "start", started, rc == PGB_OK, rc == PGB_OK ? NULL : pgb_ctx_errmsg(ctx)))
        return rc;
    started = now_seconds();
    const char *roles[4];
    connect_roles(d, roles);
    rc = pgb_drill_server_wait_promoted(ctx, &d->server, roles, d->timeout_s, conninfo);
    if (rc == PGB_OK)
        d->rto = now_seconds() - drill_started;
    step(d, "recovery", started, rc == PGB_OK, rc == PGB_OK ? NULL : pgb_ctx_errmsg(ctx));
    return rc;
}

/*
 * A logical drill: an empty cluster made with initdb and started like a
 * restored one, then the globals and the logical backup restored into it. The
 * measured RTO ends once the restore is done. Probes run in the backup's
 * first database (probe_db).
 */
static int logical_scratch(pgb_drill *d, const char *scratch, double drill_started, char conninfo[1024],
                           char probe_db[256])
{
    pgb_ctx *ctx = d->repo->ctx;
    double started = now_seconds();
    const char *wanted = NULL;
    pgb_options_get(d->plan_opts, "backup", &wanted);
    json_t *record = NULL;
    int rc = pgb_drill_logical_choose(d->repo, wanted, &record);
    if (rc == PGB_OK) {
        json_object_set(d->report, "backup", json_object_get(record, "id"));
        json_object_set_new(d->report, "target", json_pack("{s:s}", "kind", "logical"));
        snprintf(probe_db, 256, "%s", json_string_value(json_array_get(json_object_get(record, "databases"), 0)) ?: "");
    }
    int major = record ? (int)(json_integer_value(json_object_get(record, "pg_version_num")) / 10000) : 0;
    snprintf(d->server.data, sizeof(d->server.data), "%s/data", scratch);
    snprintf(d->server.socket, sizeof(d->server.socket), "%s", scratch);
    snprintf(d->server.log, sizeof(d->server.log), "%s/server.log", scratch);
    if (rc == PGB_OK)
        rc = pgb_drill_find_bindir(ctx, d->bindir, major, d->server.bindir);
    if (rc == PGB_OK)
        rc = pgb_drill_server_chown(ctx, scratch, &d->server);
    if (rc == PGB_OK)
        rc = pgb_drill_server_initdb(ctx, &d->server);
    step(d, "initdb", started, rc == PGB_OK, rc == PGB_OK ? NULL : pgb_ctx_errmsg(ctx));
    if (rc == PGB_OK)
        rc = start_scratch(d, scratch, drill_started, conninfo);
    if (rc == PGB_OK) {
        started = now_seconds();
        json_t *restores = json_array();
        rc = pgb_drill_logical_restore(d->repo, d->plan_opts, record, conninfo, restores);
        json_object_set_new(d->report, "restores", restores);
        d->rto = rc == PGB_OK ? now_seconds() - drill_started : -1;
        step(d, "restore", started, rc == PGB_OK, rc == PGB_OK ? NULL : pgb_ctx_errmsg(ctx));
    }
    json_decref(record);
    return rc;
}

static void probe_and_check(pgb_drill *d, const char *conninfo, const char *probe_db)
{
    json_object_set_new(d->report, "reached", pgb_drill_reached(conninfo));
    double started = now_seconds();
    char probe_conninfo[1400];
    /* A later dbname wins in a conninfo string. */
    snprintf(probe_conninfo, sizeof(probe_conninfo), "%s%s%s%s", conninfo, probe_db[0] ? " dbname='" : "",
             probe_db, probe_db[0] ? "'" : "");
    int failed = pgb_drill_run_probes(probe_conninfo, (const char *const *)d->probes, d->probe_count,
                                      json_object_get(d->report, "probes"));
    char detail[64];
    snprintf(detail, sizeof(detail), "%d of %zu failed", failed, d->probe_count);
    step(d, "probes", started, failed == 0, failed ? detail : NULL);
    started = now_seconds();
    failed = pgb_drill_run_checks(conninfo, json_object_get(d->report, "checks"));
    snprintf(detail, sizeof(detail), "%d failed", failed);
    step(d, "checks", started, failed == 0, failed ? detail : NULL);
}

/* RTO against the goal of the cluster's policy. */
static void judge_rto(pgb_drill *d)
{
    pgb_policy *policy = NULL;
    int64_t goal = -1;
    if (pgb_policy_load(&policy, d->repo) == PGB_OK)
        goal = pgb_policy_get(policy, "rto");
    pgb_policy_free(policy);
    pgb_error_clear(d->repo->ctx);
    json_object_set_new(d->report, "rto_seconds", d->rto >= 0 ? json_real(d->rto) : json_null());
    json_object_set_new(d->report, "rto_goal_seconds", goal >= 0 ? json_integer(goal) : json_null());
    json_object_set_new(d->report, "rto_met", goal >= 0 && d->rto >= 0 ? json_boolean(d->rto <= (double)goal)
                                                                         : json_null());
}

static int all_steps_ok(const pgb_drill *d)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(d->report, "steps"), i, s) if (!json_is_true(json_object_get(s, "ok"))) return 0;
    return 1;
}

static int store_report(pgb_drill *d, const char *id)
{
    char suffix[96], key[PGB_KEY_SIZE];
    snprintf(suffix, sizeof(suffix), "drills/%s", id);
    pgb_repo_cluster_key(d->repo, suffix, key);
    d->json = json_dumps(d->report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!d->json)
        return pgb_error_nomem(d->repo->ctx);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(d->repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    return pgb_object_put(d->repo->storage, key, &d->repo->keys, &spec, d->json, strlen(d->json), NULL);
}

int pgb_drill_run(pgb_drill *d)
{
    if (!is_drill(d))
        return PGB_EINVALID;
    pgb_ctx *ctx = d->repo->ctx;
    pgb_error_clear(ctx);
    if (d->ran)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_drill_run called on a drill that ran: a drill runs once");
    d->ran = 1;
    double started = now_seconds();
    char id[PGB_TIME_ID_SIZE], when[PGB_ISO8601_SIZE];
    pgb_time_id("drill", id);
    pgb_time_iso8601(time(NULL), when);
    d->report = json_pack("{s:i, s:s, s:s, s:s, s:n, s:n, s:s, s:n, s:[], s:n, s:n, s:n, s:n, s:[], s:[], s:b, s:n}",
                          "format_version", 1, "id", id, "kind", d->logical ? "logical" : "physical", "cluster",
                          d->repo->cluster, "backup", "target", "started_at", when, "finished_at", "steps",
                          "rto_seconds", "rto_goal_seconds", "rto_met", "reached", "probes", "checks", "passed", 0,
                          "error");
    if (!d->report)
        return pgb_error_nomem(ctx);
    const char *base = d->scratch_base ? d->scratch_base : getenv("TMPDIR");
    char *scratch = pgb_text_printf("%s/pgbackup-drill-XXXXXX", base && *base ? base : "/tmp");
    int made = scratch && mkdtemp(scratch) != NULL;
    step(d, "scratch", started, made, made ? NULL : "cannot make the scratch folder");
    char conninfo[1024] = "", probe_db[256] = "";
    if (d->logical) {
        if (made && logical_scratch(d, scratch, started, conninfo, probe_db) == PGB_OK)
            probe_and_check(d, conninfo, probe_db);
    } else if (made && restore_scratch(d, scratch) == PGB_OK && start_scratch(d, scratch, started, conninfo) == PGB_OK) {
        probe_and_check(d, conninfo, probe_db);
    }
    if (made) {
        double cleanup = now_seconds();
        pgb_drill_server_stop(&d->server);
        int removed = pgb_drill_remove_tree(scratch) == 0;
        step(d, "cleanup", cleanup, removed, removed ? NULL : "the scratch folder could not be removed");
    }
    free(scratch);
    judge_rto(d);
    d->passed = all_steps_ok(d);
    pgb_time_iso8601(time(NULL), when);
    json_object_set_new(d->report, "finished_at", json_string(when));
    json_object_set_new(d->report, "passed", json_boolean(d->passed));
    pgb_log(ctx, d->passed ? PGB_LOG_INFO : PGB_LOG_WARNING, "drill %s %s%s%s", id,
            d->passed ? "passed" : "failed",
            d->passed ? "" : ": ", d->passed ? "" : json_string_value(json_object_get(d->report, "error")) ?: "");
    pgb_error_clear(ctx);
    return store_report(d, id);
}

int pgb_drill_passed(const pgb_drill *d)
{
    return is_drill(d) && d->ran && d->passed;
}

double pgb_drill_rto_seconds(const pgb_drill *d)
{
    return is_drill(d) ? d->rto : -1;
}

const char *pgb_drill_to_json(const pgb_drill *d)
{
    return is_drill(d) ? d->json : NULL;
}

void pgb_drill_free(pgb_drill *d)
{
    if (!d || d->magic != PGB_MAGIC_DRILL)
        return;
    pgb_options_free(d->plan_opts);
    for (size_t i = 0; i < d->probe_count; i++)
        free(d->probes[i]);
    free(d->probes);
    free(d->role);
    free(d->scratch_base);
    free(d->bindir);
    json_decref(d->report);
    free(d->json);
    d->magic = PGB_MAGIC_FREED;
    free(d);
}
