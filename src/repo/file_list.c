#include "repo/file_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/text.h"
#include "pipeline/sha256_chain.h"

static const char *const type_names[] = {"file", "directory", "symlink"};

void pgb_backup_content_key(const struct pgb_repo *repo, const char *backup_id, const char *name,
                            char out[PGB_KEY_SIZE])
{
    char suffix[PGB_KEY_SIZE];
    snprintf(suffix, sizeof(suffix), "content/%s/%s", backup_id, name);
    pgb_repo_cluster_key(repo, suffix, out);
}

int pgb_file_list_append(pgb_ctx *ctx, struct pgb_file_list *list, struct pgb_file_entry *entry)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 256;
        struct pgb_file_entry *grown = realloc(list->entries, capacity * sizeof(*grown));
        if (!grown)
            return pgb_error_nomem(ctx);
        list->entries = grown;
        list->capacity = capacity;
    }
    list->entries[list->count++] = *entry;
    memset(entry, 0, sizeof(*entry));
    return PGB_OK;
}

void pgb_file_entry_clear(struct pgb_file_entry *entry)
{
    free(entry->path);
    free(entry->link);
    free(entry->chunks);
    memset(entry, 0, sizeof(*entry));
}

void pgb_file_list_clear(struct pgb_file_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        pgb_file_entry_clear(&list->entries[i]);
    free(list->entries);
    memset(list, 0, sizeof(*list));
}

static json_t *chunk_to_json(const struct pgb_file_entry *e, const struct pgb_stored_chunk *c)
{
    char check[65];
    pgb_hex_encode(e->chained ? c->link : c->ref.sha256, 32, check);
    return json_pack("[s, s, I, I, I, s]", c->id, c->ref.pack, (json_int_t)c->ref.offset, (json_int_t)c->ref.length,
                     (json_int_t)c->ref.plain_size, check);
}

static json_t *entry_to_json(const struct pgb_file_entry *e)
{
    json_t *obj = json_pack("{s:s, s:s, s:i, s:I, s:I}", "path", e->path, "type", type_names[e->type], "mode",
                            (int)e->mode, "size", (json_int_t)e->size, "mtime", (json_int_t)e->mtime);
    if (!obj)
        return NULL;
    if (e->type == PGB_FILE_REGULAR) {
        char sha[65];
        pgb_hex_encode(e->sha256, 32, sha);
        json_object_set_new(obj, "sha256", json_string(sha));
        if (!e->chained)
            json_object_set_new(obj, "links", json_false());
        json_t *chunks = json_array();
        for (size_t i = 0; i < e->chunk_count; i++)
            json_array_append_new(chunks, chunk_to_json(e, &e->chunks[i]));
        json_object_set_new(obj, "chunks", chunks);
    } else if (e->type == PGB_FILE_SYMLINK) {
        json_object_set_new(obj, "link", json_string(e->link ? e->link : ""));
    }
    return obj;
}

int pgb_file_list_store(struct pgb_repo *repo, const char *backup_id, const struct pgb_file_list *list,
                        uint64_t *stored_size)
{
    json_t *files = json_array();
    for (size_t i = 0; files && i < list->count; i++)
        if (json_array_append_new(files, entry_to_json(&list->entries[i])) != 0) {
            json_decref(files);
            files = NULL;
        }
    json_t *doc = files ? json_pack("{s:i, s:o}", "format_version", 2, "files", files) : NULL;
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(repo, backup_id, "files", key);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    struct pgb_object_info info;
    int rc = pgb_object_put(repo->storage, key, &repo->keys, &spec, text, strlen(text), &info);
    free(text);
    if (rc == PGB_OK && stored_size)
        *stored_size = info.stored_size;
    return rc;
}

static int damaged(struct pgb_repo *repo, const char *key, const char *what)
{
    return pgb_error_set(repo->ctx, PGB_ECORRUPT, "file list %s is damaged: %s", key, what);
}

static int parse_chunk(struct pgb_repo *repo, const char *key, json_t *item, int chained, struct pgb_stored_chunk *c)
{
    const char *id = json_string_value(json_array_get(item, 0));
    const char *pack = json_string_value(json_array_get(item, 1));
    const char *check = json_string_value(json_array_get(item, 5));
    if (!id || strlen(id) != 64 || !pack || strlen(pack) != 32 || !check ||
        pgb_hex_decode(repo->ctx, check, chained ? c->link : c->ref.sha256, 32) != PGB_OK)
        return damaged(repo, key, "a chunk reference is malformed");
    memcpy(c->id, id, 65);
    memcpy(c->ref.pack, pack, 33);
    c->ref.offset = (uint64_t)json_integer_value(json_array_get(item, 2));
    c->ref.length = (uint64_t)json_integer_value(json_array_get(item, 3));
    c->ref.plain_size = (uint64_t)json_integer_value(json_array_get(item, 4));
    return PGB_OK;
}

/* A chain is checked link by link: every link on a block boundary, the last one the file's digest. */
static int check_links(struct pgb_repo *repo, const char *key, const struct pgb_file_entry *e)
{
    for (size_t i = 0; i + 1 < e->chunk_count; i++)
        if (e->chunks[i].ref.plain_size % PGB_SHA256_BLOCK != 0 || e->chunks[i].ref.plain_size == 0)
            return damaged(repo, key, "a chunk of a chained file does not end on a SHA-256 block");
    if (e->chunk_count && memcmp(e->chunks[e->chunk_count - 1].link, e->sha256, 32) != 0)
        return damaged(repo, key, "the last link of a file's chain is not its SHA-256");
    return PGB_OK;
}

static int parse_entry(struct pgb_repo *repo, const char *key, int version, json_t *obj, struct pgb_file_entry *e)
{
    const char *path = json_string_value(json_object_get(obj, "path"));
    const char *type = json_string_value(json_object_get(obj, "type"));
    if (!path || !type)
        return damaged(repo, key, "an entry has no path or type");
    e->type = -1;
    for (int t = 0; t < 3; t++)
        if (strcmp(type, type_names[t]) == 0)
            e->type = t;
    if (e->type < 0)
        return damaged(repo, key, "an entry has an unknown type");
    e->path = pgb_text_dup(path);
    e->mode = (uint32_t)json_integer_value(json_object_get(obj, "mode"));
    e->size = (uint64_t)json_integer_value(json_object_get(obj, "size"));
    e->mtime = (int64_t)json_integer_value(json_object_get(obj, "mtime"));
    if (e->type == PGB_FILE_SYMLINK)
        e->link = pgb_text_dup(json_string_value(json_object_get(obj, "link")));
    if (e->type != PGB_FILE_REGULAR)
        return e->path ? PGB_OK : pgb_error_nomem(repo->ctx);
    const char *sha = json_string_value(json_object_get(obj, "sha256"));
    if (!sha || pgb_hex_decode(repo->ctx, sha, e->sha256, 32) != PGB_OK)
        return damaged(repo, key, "a file has no valid sha256");
    e->chained = version >= 2 && !json_is_false(json_object_get(obj, "links"));
    json_t *chunks = json_object_get(obj, "chunks");
    e->chunk_count = json_array_size(chunks);
    e->chunks = e->chunk_count ? calloc(e->chunk_count, sizeof(*e->chunks)) : NULL;
    if ((e->chunk_count && !e->chunks) || !e->path)
        return pgb_error_nomem(repo->ctx);
    uint64_t total = 0;
    for (size_t i = 0; i < e->chunk_count; i++) {
        int rc = parse_chunk(repo, key, json_array_get(chunks, i), e->chained, &e->chunks[i]);
        if (rc != PGB_OK)
            return rc;
        total += e->chunks[i].ref.plain_size;
    }
    if (total != e->size)
        return damaged(repo, key, "a file's chunks do not add up to its size");
    return e->chained ? check_links(repo, key, e) : PGB_OK;
}

int pgb_file_list_load(struct pgb_repo *repo, const char *backup_id, struct pgb_file_list *list)
{
    memset(list, 0, sizeof(*list));
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(repo, backup_id, "files", key);
    char *text = NULL;
    size_t size = 0;
    int rc = pgb_object_get(repo->storage, key, &repo->keys, (void **)&text, &size);
    if (rc != PGB_OK)
        return rc;
    json_error_t error;
    json_t *doc = json_loads(text, 0, &error);
    free(text);
    json_t *files = json_object_get(doc, "files");
    json_int_t version = json_integer_value(json_object_get(doc, "format_version"));
    if (!json_is_array(files))
        rc = damaged(repo, key, doc ? "no files array" : error.text);
    else if (version != 1 && version != 2)
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "file list %s has format %lld, which this version does not "
                           "read (1 and 2): a newer libpgbackup wrote it", key, (long long)version);
    for (size_t i = 0; rc == PGB_OK && i < json_array_size(files); i++) {
        struct pgb_file_entry entry = {0};
        rc = parse_entry(repo, key, (int)version, json_array_get(files, i), &entry);
        if (rc == PGB_OK)
            rc = pgb_file_list_append(repo->ctx, list, &entry);
        pgb_file_entry_clear(&entry);
    }
    json_decref(doc);
    if (rc != PGB_OK)
        pgb_file_list_clear(list);
    return rc;
}
