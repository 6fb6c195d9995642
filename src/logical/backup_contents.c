/*
 * The objects of a logical backup, read from the tables of contents stored
 * beside each dump: listing them reads no dump.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pgbackup/error.h>
#include <pgbackup/logical.h>
#include <pgbackup/options.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/text.h"
#include "logical/archive_toc.h"
#include "logical/backup_files.h"
#include "logical/logical_job.h"
#include "logical/logical_restore.h"
#include "logical/logical_session.h"
#include "repo/repo.h"

struct contents_object {
    const char *database, *kind, *schema, *name, *owner; /* point into doc */
};

struct pgb_backup_contents {
    uint32_t magic;
    json_t *doc;
    char *json;
    struct contents_object *objects;
    size_t count;
};

static int is_contents(const pgb_backup_contents *c)
{
    return c && c->magic == PGB_MAGIC_BACKUP_CONTENTS;
}

static int wanted(char **databases, size_t count, const char *name)
{
    if (!count)
        return 1;
    for (size_t i = 0; i < count; i++)
        if (strcmp(databases[i], name) == 0)
            return 1;
    return 0;
}

/* The objects of one database, from its toc.json. */
static int read_database(struct pgb_repo *repo, const char *id, const struct pgb_file_list *files, const char *name,
                         json_t *databases)
{
    pgb_ctx *ctx = repo->ctx;
    char *path = NULL, *text = NULL;
    struct pgb_archive_toc toc = {0};
    json_t *doc = NULL, *objects = json_array();
    int rc = pgb_logical_database_path(ctx, name, "toc.json", &path);
    const struct pgb_file_entry *e = rc == PGB_OK ? pgb_backup_file_find(files, path) : NULL;
    if (rc == PGB_OK && !e)
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "backup %s lacks %s", id, path);
    if (rc == PGB_OK)
        rc = pgb_backup_file_read(repo, e, &text, NULL);
    json_error_t error;
    if (rc == PGB_OK && !(doc = json_loads(text, 0, &error)))
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "%s of backup %s is damaged: %s", path, id, error.text);
    if (rc == PGB_OK)
        rc = pgb_archive_toc_from_json(ctx, doc, &toc);
    for (size_t i = 0; rc == PGB_OK && i < toc.count; i++) {
        const struct pgb_archive_entry *entry = &toc.entries[i];
        json_t *deps = json_array();
        for (size_t j = 0; j < entry->dep_count; j++)
            json_array_append_new(deps, json_integer(entry->deps[j]));
        json_t *object = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o}", "id", entry->id, "kind", entry->desc, "schema",
                                   entry->namespace ? entry->namespace : "", "name", entry->tag, "owner",
                                   entry->owner ? entry->owner : "", "depends_on", deps);
        if (!object || json_array_append_new(objects, object) != 0)
            rc = pgb_error_nomem(ctx);
    }
    if (rc == PGB_OK && json_array_append_new(databases, json_pack("{s:s, s:O}", "name", name, "objects", objects)))
        rc = pgb_error_nomem(ctx);
    pgb_archive_toc_clear(&toc);
    json_decref(doc);
    json_decref(objects);
    free(text);
    free(path);
    return rc;
}

static int index_objects(pgb_ctx *ctx, struct pgb_backup_contents *c)
{
    json_t *databases = json_object_get(c->doc, "databases");
    size_t total = 0, i, j;
    json_t *database, *object;
    json_array_foreach(databases, i, database) total += json_array_size(json_object_get(database, "objects"));
    c->objects = calloc(total ? total : 1, sizeof(*c->objects));
    if (!c->objects)
        return pgb_error_nomem(ctx);
    json_array_foreach(databases, i, database)
    {
        const char *name = json_string_value(json_object_get(database, "name"));
        json_array_foreach(json_object_get(database, "objects"), j, object)
        {
            c->objects[c->count++] = (struct contents_object){
                name, json_string_value(json_object_get(object, "kind")),
                json_string_value(json_object_get(object, "schema")),
                json_string_value(json_object_get(object, "name")),
                json_string_value(json_object_get(object, "owner"))};
        }
    }
    return PGB_OK;
}

int pgb_backup_contents_read(pgb_backup_contents **out, pgb_repo *repo, const char *id, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!out || !id)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_backup_contents_read: out and id are needed");
    *out = NULL;
    if (!pgb_repo_can_read(repo))
        return pgb_error_set(ctx, PGB_EAUTH, "listing a backup's objects needs --identity or --passphrase-file: "
                             "this repository handle holds only the writer key");
    json_t *record = NULL;
    struct pgb_file_list files = {0};
    char **databases = NULL;
    size_t database_count = 0;
    struct pgb_backup_contents *c = calloc(1, sizeof(*c));
    int rc = c ? pgb_logical_find_record(repo, id, NULL, &record) : pgb_error_nomem(ctx);
    const char *type = json_string_value(json_object_get(record, "type"));
    if (rc == PGB_OK && (!type || strcmp(type, "logical") != 0))
        rc = pgb_error_set(ctx, PGB_EINVALID, "backup %s is a %s backup: only logical backups list objects", id,
                           type ? type : "?");
    if (rc == PGB_OK)
        rc = pgb_logical_copy_list(ctx, opts, "db", &databases, &database_count);
    json_t *names = json_object_get(record, "databases");
    for (size_t i = 0; rc == PGB_OK && i < database_count; i++) {
        size_t j;
        json_t *name;
        int found = 0;
        json_array_foreach(names, j, name) found |= strcmp(json_string_value(name), databases[i]) == 0;
        if (!found)
            rc = pgb_error_set(ctx, PGB_ENOTFOUND, "backup %s holds no database %s", id, databases[i]);
    }
    if (rc == PGB_OK)
        rc = pgb_file_list_load(repo, id, &files);
    json_t *list = rc == PGB_OK ? json_array() : NULL;
    if (rc == PGB_OK && !(c->doc = json_pack("{s:i, s:s, s:o}", "format_version", 1, "backup", id, "databases",
                                             list)))
        rc = pgb_error_nomem(ctx);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        if (rc == PGB_OK && wanted(databases, database_count, json_string_value(name)))
            rc = read_database(repo, id, &files, json_string_value(name), list);
    }
    if (rc == PGB_OK)
        rc = index_objects(ctx, c);
    if (rc == PGB_OK && !(c->json = json_dumps(c->doc, JSON_INDENT(2))))
        rc = pgb_error_nomem(ctx);
    pgb_file_list_clear(&files);
    pgb_logical_list_free(databases);
    json_decref(record);
    if (rc != PGB_OK) {
        if (c) {
            json_decref(c->doc);
            free(c->objects);
            free(c->json);
            free(c);
        }
        return rc;
    }
    c->magic = PGB_MAGIC_BACKUP_CONTENTS;
    *out = c;
    return PGB_OK;
}

size_t pgb_backup_contents_count(const pgb_backup_contents *c)
{
    return is_contents(c) ? c->count : 0;
}

int pgb_backup_contents_object(const pgb_backup_contents *c, size_t i, const char **database, const char **kind,
                               const char **schema, const char **name, const char **owner)
{
    if (!is_contents(c))
        return PGB_EINVALID;
    if (i >= c->count)
        return PGB_ITEROVER;
    const struct contents_object *o = &c->objects[i];
    if (database)
        *database = o->database;
    if (kind)
        *kind = o->kind;
    if (schema)
        *schema = o->schema;
    if (name)
        *name = o->name;
    if (owner)
        *owner = o->owner;
    return PGB_OK;
}

const char *pgb_backup_contents_to_json(const pgb_backup_contents *c)
{
    return is_contents(c) ? c->json : NULL;
}

void pgb_backup_contents_free(pgb_backup_contents *c)
{
    if (!is_contents(c))
        return;
    json_decref(c->doc);
    free(c->objects);
    free(c->json);
    c->magic = PGB_MAGIC_FREED;
    free(c);
}
