#include "repo/catalog.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/text.h"

static const char backups_folder[] = "backups/";

int pgb_catalog_commit(struct pgb_repo *repo, const char *id, json_t *record)
{
    int rc = pgb_layout_check_backup_id(repo->ctx, id);
    if (rc != PGB_OK)
        return rc;
    json_object_set_new(record, "id", json_string(id));
    char *text = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    char suffix[128], key[PGB_KEY_SIZE];
    snprintf(suffix, sizeof(suffix), "%s%s", backups_folder, id);
    pgb_repo_cluster_key(repo, suffix, key);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    rc = pgb_object_put(repo->storage, key, &repo->keys, &spec, text, strlen(text), NULL);
    free(text);
    if (rc == PGB_EEXISTS)
        pgb_error_set(repo->ctx, PGB_EEXISTS, "backup %s of cluster %s exists already", id, repo->cluster);
    return rc;
}

struct key_collector {
    char **keys;
    size_t count, capacity;
    int failed;
};

static int collect_key(const char *key, uint64_t size, void *payload)
{
    (void)size;
    struct key_collector *c = payload;
    if (c->count == c->capacity) {
        size_t capacity = c->capacity ? c->capacity * 2 : 64;
        char **grown = realloc(c->keys, capacity * sizeof(*grown));
        if (!grown)
            return c->failed = 1;
        c->keys = grown;
        c->capacity = capacity;
    }
    if (!(c->keys[c->count] = pgb_text_dup(key)))
        return c->failed = 1;
    c->count++;
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int pgb_catalog_read_all(struct pgb_repo *repo, json_t **records)
{
    return pgb_catalog_read_folder(repo, backups_folder, records);
}

int pgb_catalog_read_folder(struct pgb_repo *repo, const char *folder, json_t **records)
{
    *records = NULL;
    char prefix[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, folder, prefix);
    struct key_collector keys = {0};
    int rc = pgb_storage_list(repo->storage, prefix, collect_key, &keys);
    if (keys.failed)
        rc = pgb_error_nomem(repo->ctx);
    json_t *array = json_array();
    if (rc == PGB_OK && !array)
        rc = pgb_error_nomem(repo->ctx);
    if (rc == PGB_OK && keys.count > 0)
        qsort(keys.keys, keys.count, sizeof(*keys.keys), compare_keys);
    for (size_t i = 0; rc == PGB_OK && i < keys.count; i++) {
        char *text = NULL;
        size_t size = 0;
        rc = pgb_object_get(repo->storage, keys.keys[i], &repo->keys, (void **)&text, &size);
        if (rc != PGB_OK)
            break;
        json_error_t error;
        json_t *record = json_loads(text, 0, &error);
        free(text);
        const char *id = json_string_value(json_object_get(record, "id"));
        const char *name = strrchr(keys.keys[i], '/') + 1;
        if (!json_is_object(record) || !id || strcmp(id, name) != 0) {
            json_decref(record);
            rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "catalog record %s is damaged: %s", keys.keys[i],
                               record ? "its id does not match its name" : error.text);
            break;
        }
        json_array_append_new(array, record);
    }
    for (size_t i = 0; i < keys.count; i++)
        free(keys.keys[i]);
    free(keys.keys);
    if (rc != PGB_OK) {
        json_decref(array);
        return rc;
    }
    *records = array;
    return PGB_OK;
}

/* ---- public: pgb_repo_list and pgb_backup_list ---- */

struct pgb_backup_list {
    uint32_t magic;
    json_t *records;
    char *json;
};

static int is_list(const pgb_backup_list *list)
{
    return list && list->magic == PGB_MAGIC_BACKUP_LIST;
}

int pgb_repo_list(pgb_backup_list **out, pgb_repo *repo)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (!out)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "pgb_repo_list: out is NULL");
    *out = NULL;
    pgb_backup_list *list = calloc(1, sizeof(*list));
    if (!list)
        return pgb_error_nomem(repo->ctx);
    int rc = pgb_catalog_read_all(repo, &list->records);
    if (rc == PGB_OK && !(list->json = json_dumps(list->records, JSON_INDENT(2) | JSON_SORT_KEYS)))
        rc = pgb_error_nomem(repo->ctx);
    if (rc != PGB_OK) {
        json_decref(list->records);
        free(list);
        return rc;
    }
    list->magic = PGB_MAGIC_BACKUP_LIST;
    *out = list;
    return PGB_OK;
}

size_t pgb_backup_list_count(const pgb_backup_list *list)
{
    return is_list(list) ? json_array_size(list->records) : 0;
}

const char *pgb_backup_list_id(const pgb_backup_list *list, size_t i)
{
    if (!is_list(list))
        return NULL;
    return json_string_value(json_object_get(json_array_get(list->records, i), "id"));
}

const char *pgb_backup_list_to_json(const pgb_backup_list *list)
{
    return is_list(list) ? list->json : NULL;
}

void pgb_backup_list_free(pgb_backup_list *list)
{
    if (!is_list(list))
        return;
    json_decref(list->records);
    free(list->json);
    list->magic = PGB_MAGIC_FREED;
    free(list);
}
