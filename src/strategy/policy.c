/*
 * The policy object: "clusters/<c>/policy", a JSON record sealed like the
 * catalog's, replaced whole on every change (the one object of a cluster that
 * changes: the store commits atomically).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/policy.h>

#include "core/clock.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/handle.h"
#include "pipeline/object.h"
#include "repo/repo.h"

/* Settings held as numbers; the order of the table is the order of the fields below. */
enum setting {
    RPO, RTO, KEEP_FULL, KEEP_AGE, PITR_WINDOW, DRILL_EVERY, PHYSICAL_EVERY, LOGICAL_EVERY, GLOBALS_EVERY,
    SETTING_COUNT
};

static const struct {
    const char *option; /* also pgb_policy_get's name */
    int is_count;
} settings[SETTING_COUNT] = {{"rpo", 0},         {"rto", 0},          {"keep-full", 1},
                             {"keep-age", 0},    {"pitr-window", 0},  {"drill-every", 0},
                             {"physical-every", 0}, {"logical-every", 0}, {"globals-every", 0}};

static const char *const restore_paths[] = {"full-logical", "selective", "full-cluster", "pitr", "globals"};
enum { PATH_COUNT = sizeof(restore_paths) / sizeof(restore_paths[0]) };

struct pgb_policy {
    uint32_t magic;
    struct pgb_repo *repo;
    int64_t value[SETTING_COUNT]; /* -1: unset */
    int required[PATH_COUNT];
    char updated_at[PGB_ISO8601_SIZE];
    char *json;
};

static int is_policy(const pgb_policy *p)
{
    return p && p->magic == PGB_MAGIC_POLICY && pgb_repo_is_valid(p->repo);
}

static int path_index(const char *path)
{
    for (int i = 0; i < PATH_COUNT; i++)
        if (strcmp(restore_paths[i], path) == 0)
            return i;
    return -1;
}

static json_t *seconds_or_null(int64_t value)
{
    return value < 0 ? json_null() : json_integer((json_int_t)value);
}

static json_t *to_document(const pgb_policy *p)
{
    json_t *require = json_array();
    for (int i = 0; i < PATH_COUNT; i++)
        if (p->required[i])
            json_array_append_new(require, json_string(restore_paths[i]));
    return json_pack("{s:i, s:s, s:o, s:o, s:o, s:{s:o, s:o, s:o}, s:o, s:{s:o, s:o, s:o}, s:s?}", "format_version",
                     1, "cluster", p->repo->cluster, "rpo_seconds", seconds_or_null(p->value[RPO]), "rto_seconds",
                     seconds_or_null(p->value[RTO]), "require", require, "retention", "full",
                     seconds_or_null(p->value[KEEP_FULL]), "age_seconds", seconds_or_null(p->value[KEEP_AGE]),
                     "pitr_window_seconds", seconds_or_null(p->value[PITR_WINDOW]), "drill_every_seconds",
                     seconds_or_null(p->value[DRILL_EVERY]), "backup_every_seconds", "physical",
                     seconds_or_null(p->value[PHYSICAL_EVERY]), "logical", seconds_or_null(p->value[LOGICAL_EVERY]),
                     "globals", seconds_or_null(p->value[GLOBALS_EVERY]), "updated_at",
                     p->updated_at[0] ? p->updated_at : NULL);
}

static int64_t read_number(json_t *value)
{
    return json_is_integer(value) && json_integer_value(value) >= 0 ? (int64_t)json_integer_value(value) : -1;
}

static int from_document(pgb_policy *p, json_t *doc, const char *key)
{
    if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "format_version")) != 1)
        return pgb_error_set(p->repo->ctx, PGB_ECORRUPT, "policy %s is damaged or of an unknown format", key);
    json_t *retention = json_object_get(doc, "retention"), *every = json_object_get(doc, "backup_every_seconds");
    p->value[RPO] = read_number(json_object_get(doc, "rpo_seconds"));
    p->value[RTO] = read_number(json_object_get(doc, "rto_seconds"));
    p->value[KEEP_FULL] = read_number(json_object_get(retention, "full"));
    p->value[KEEP_AGE] = read_number(json_object_get(retention, "age_seconds"));
    p->value[PITR_WINDOW] = read_number(json_object_get(retention, "pitr_window_seconds"));
    p->value[DRILL_EVERY] = read_number(json_object_get(doc, "drill_every_seconds"));
    p->value[PHYSICAL_EVERY] = read_number(json_object_get(every, "physical"));
    p->value[LOGICAL_EVERY] = read_number(json_object_get(every, "logical"));
    p->value[GLOBALS_EVERY] = read_number(json_object_get(every, "globals"));
    size_t i;
    json_t *path;
    json_array_foreach(json_object_get(doc, "require"), i, path) {
        int at = path_index(json_string_value(path) ? json_string_value(path) : "");
        if (at >= 0)
            p->required[at] = 1;
    }
    const char *updated = json_string_value(json_object_get(doc, "updated_at"));
    snprintf(p->updated_at, sizeof(p->updated_at), "%s", updated ? updated : "");
    return PGB_OK;
}

int pgb_policy_load(pgb_policy **out, pgb_repo *repo)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (!out)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "pgb_policy_load: out is NULL");
    *out = NULL;
    pgb_policy *p = calloc(1, sizeof(*p));
    if (!p)
        return pgb_error_nomem(repo->ctx);
    p->magic = PGB_MAGIC_POLICY;
    p->repo = repo;
    for (int i = 0; i < SETTING_COUNT; i++)
        p->value[i] = -1;
    char key[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "policy", key);
    char *text = NULL;
    size_t size = 0;
    int rc = pgb_object_get(repo->storage, key, &repo->keys, (void **)&text, &size);
    if (rc == PGB_ENOTFOUND) {
        pgb_error_clear(repo->ctx);
        rc = PGB_OK;
    } else if (rc == PGB_OK) {
        json_t *doc = json_loads(text, 0, NULL);
        rc = from_document(p, doc, key);
        json_decref(doc);
    }
    free(text);
    if (rc != PGB_OK) {
        pgb_policy_free(p);
        return rc;
    }
    *out = p;
    return PGB_OK;
}

/* A setting's new value from its option text: a duration or count, or "none" (-1). */
static int parse_setting(pgb_ctx *ctx, int which, const char *text, int64_t *value)
{
    if (strcmp(text, "none") == 0) {
        *value = -1;
        return PGB_OK;
    }
    char *end = NULL;
    if (settings[which].is_count) {
        long long n = strtoll(text, &end, 10);
        if (end != text && !*end && n >= 1) {
            *value = n;
            return PGB_OK;
        }
        return pgb_error_set(ctx, PGB_EINVALID, "%s '%s' is not a count of 1 or more (or none)",
                             settings[which].option, text);
    }
    if (pgb_duration_parse(text, value) == 0)
        return PGB_OK;
    return pgb_error_set(ctx, PGB_EINVALID, "%s '%s' is not a duration such as 90s, 15min, 1h, 7d or 2w (or none)",
                         settings[which].option, text);
}

int pgb_policy_update(pgb_policy *p, const pgb_options *opts)
{
    if (!is_policy(p))
        return PGB_EINVALID;
    pgb_ctx *ctx = p->repo->ctx;
    pgb_error_clear(ctx);
    int64_t value[SETTING_COUNT];
    int required[PATH_COUNT];
    memcpy(value, p->value, sizeof(value));
    memcpy(required, p->required, sizeof(required));
    for (int i = 0; opts && i < SETTING_COUNT; i++) {
        const char *text = NULL;
        if (pgb_options_get(opts, settings[i].option, &text) != PGB_OK || !text)
            continue;
        int rc = parse_setting(ctx, i, text, &value[i]);
        if (rc != PGB_OK)
            return rc;
    }
    const char *path = NULL;
    for (size_t i = 0; opts && pgb_options_get_at(opts, "require", i, &path) == PGB_OK && path; i++) {
        if (i == 0)
            memset(required, 0, sizeof(required)); /* the list given replaces the stored one */
        int at = path_index(path);
        if (at < 0 && strcmp(path, "none") != 0)
            return pgb_error_set(ctx, PGB_EINVALID, "require '%s' is not a restore path (full-logical, selective, "
                                 "full-cluster, pitr, globals, or none)", path);
        if (at >= 0)
            required[at] = 1;
    }
    memcpy(p->value, value, sizeof(value));
    memcpy(p->required, required, sizeof(required));
    return PGB_OK;
}

int pgb_policy_save(pgb_policy *p)
{
    if (!is_policy(p))
        return PGB_EINVALID;
    struct pgb_repo *repo = p->repo;
    pgb_error_clear(repo->ctx);
    pgb_time_iso8601(time(NULL), p->updated_at);
    json_t *doc = to_document(p);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    char key[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "policy", key);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, 0, &spec);
    int rc = pgb_object_put(repo->storage, key, &repo->keys, &spec, text, strlen(text), NULL);
    free(text);
    return rc;
}

const char *pgb_policy_to_json(pgb_policy *p)
{
    if (!is_policy(p))
        return NULL;
    json_t *doc = to_document(p);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return NULL;
    free(p->json);
    p->json = text;
    return p->json;
}

int64_t pgb_policy_get(const pgb_policy *p, const char *setting)
{
    for (int i = 0; is_policy(p) && setting && i < SETTING_COUNT; i++)
        if (strcmp(settings[i].option, setting) == 0)
            return p->value[i];
    return -1;
}

int pgb_policy_requires(const pgb_policy *p, const char *path)
{
    int at = is_policy(p) && path ? path_index(path) : -1;
    return at >= 0 && p->required[at];
}

void pgb_policy_free(pgb_policy *p)
{
    if (!p || p->magic != PGB_MAGIC_POLICY)
        return;
    free(p->json);
    p->magic = PGB_MAGIC_FREED;
    free(p);
}
