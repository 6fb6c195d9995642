#include "restore/drill_logical.h"

#include <stdio.h>
#include <string.h>

#include <pgbackup/error.h>
#include <pgbackup/logical.h>

#include "core/error.h"
#include "repo/catalog.h"

static int of_type(json_t *record, const char *type)
{
    const char *t = json_string_value(json_object_get(record, "type"));
    return t && strcmp(t, type) == 0;
}

static json_t *newest(json_t *records, const char *type, const char *wanted)
{
    for (size_t i = json_array_size(records); i > 0; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *id = json_string_value(json_object_get(r, "id"));
        if (wanted ? id && strcmp(id, wanted) == 0 : of_type(r, type))
            return r;
    }
    return NULL;
}

int pgb_drill_logical_choose(struct pgb_repo *repo, const char *wanted, json_t **record)
{
    json_t *records = NULL;
    *record = NULL;
    int rc = pgb_catalog_read_all(repo, &records);
    json_t *found = rc == PGB_OK ? newest(records, "logical", wanted) : NULL;
    if (rc == PGB_OK && !found)
        rc = wanted ? pgb_error_set(repo->ctx, PGB_ENOTFOUND, "backup %s not found in cluster %s", wanted,
                                    repo->cluster)
                    : pgb_error_set(repo->ctx, PGB_ENOTFOUND, "cluster %s has no logical backup to drill",
                                    repo->cluster);
    else if (rc == PGB_OK && !of_type(found, "logical"))
        rc = pgb_error_set(repo->ctx, PGB_EINVALID, "backup %s is not a logical backup: a logical drill restores "
                           "one", wanted);
    if (rc == PGB_OK)
        *record = json_incref(found);
    /* Globals go first: they make the roles that own the databases' objects. */
    json_t *globals = rc == PGB_OK ? newest(records, "globals", NULL) : NULL;
    if (globals)
        json_object_set(*record, "drill_globals_backup", json_object_get(globals, "id"));
    json_decref(records);
    return rc;
}

/* One restore through the public API: plan, run, keep its report. */
static int restore_one(struct pgb_repo *repo, const char *const *pairs, json_t *restores)
{
    pgb_options *opts = NULL;
    int rc = pgb_options_new(&opts, repo->ctx);
    for (size_t i = 0; rc == PGB_OK && pairs[i]; i += 2)
        rc = pgb_options_set(opts, pairs[i], pairs[i + 1]);
    pgb_logical_restore *restore = NULL;
    if (rc == PGB_OK)
        rc = pgb_logical_restore_new(&restore, repo, opts);
    if (rc == PGB_OK)
        rc = pgb_logical_restore_execute(restore);
    if (rc == PGB_OK)
        json_array_append_new(restores, json_loads(pgb_logical_restore_to_json(restore), 0, NULL));
    pgb_logical_restore_free(restore);
    pgb_options_free(opts);
    return rc;
}

int pgb_drill_logical_restore(struct pgb_repo *repo, const pgb_options *opts, json_t *record, const char *conninfo,
                              json_t *restores)
{
    const char *globals = json_string_value(json_object_get(record, "drill_globals_backup"));
    const char *id = json_string_value(json_object_get(record, "id"));
    const char *jobs = NULL, *bindir = NULL;
    if (opts) {
        pgb_options_get(opts, "jobs", &jobs);
        pgb_options_get(opts, "pg-bindir", &bindir);
    }
    int rc = PGB_OK;
    if (globals) {
        const char *pairs[] = {"type", "globals", "backup", globals, "pg", conninfo, bindir ? "pg-bindir" : NULL,
                               bindir, NULL};
        rc = restore_one(repo, pairs, restores);
    }
    json_t *databases = json_object_get(record, "databases");
    const char *only = NULL;
    size_t i;
    json_t *name;
    json_array_foreach(databases, i, name) {
        if (rc != PGB_OK)
            break;
        int wanted = !opts || pgb_options_get_at(opts, "db", 0, &only) != PGB_OK || !only;
        for (size_t k = 0; !wanted && opts && pgb_options_get_at(opts, "db", k, &only) == PGB_OK && only; k++)
            wanted = strcmp(only, json_string_value(name)) == 0;
        if (!wanted)
            continue;
        /* initdb made postgres already (empty): restore into it; create the others with their properties. */
        int create = strcmp(json_string_value(name), "postgres") != 0;
        const char *pairs[] = {"type", "logical", "backup", id, "db", json_string_value(name), "create",
                               create ? "true" : "false",
                               "pg", conninfo, "jobs", jobs ? jobs : "1", bindir ? "pg-bindir" : NULL, bindir, NULL};
        rc = restore_one(repo, pairs, restores);
    }
    return rc;
}
