/*
 * Checksum records of archived WAL files: {"name": ..., "sha256": hex,
 * "size": bytes}, a small object sealed like catalog records (writer key).
 */
#include "wal/wal_sum.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"

int pgb_wal_sum_write(struct pgb_repo *repo, const char *sum_key, const char *name, const struct pgb_wal_sum *sum)
{
    char hex[2 * sizeof(sum->sha256) + 1];
    pgb_hex_encode(sum->sha256, sizeof(sum->sha256), hex);
    json_t *doc = json_pack("{s:s, s:s, s:I}", "name", name, "sha256", hex, "size", (json_int_t)sum->size);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    int rc = pgb_object_put(repo->storage, sum_key, &repo->keys, &spec, text, strlen(text), NULL);
    free(text);
    return rc;
}

int pgb_wal_sum_read(struct pgb_repo *repo, const char *sum_key, const char *name, struct pgb_wal_sum *sum)
{
    char *text = NULL;
    size_t size = 0;
    int rc = pgb_object_get(repo->storage, sum_key, &repo->keys, (void **)&text, &size);
    if (rc != PGB_OK)
        return rc;
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    const char *recorded_name = json_string_value(json_object_get(doc, "name"));
    const char *hex = json_string_value(json_object_get(doc, "sha256"));
    json_t *bytes = json_object_get(doc, "size");
    if (!json_is_object(doc) || !recorded_name || !hex || !json_is_integer(bytes) || json_integer_value(bytes) < 0 ||
        pgb_hex_decode(NULL, hex, sum->sha256, sizeof(sum->sha256)) != PGB_OK)
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "checksum record %s is damaged", sum_key);
    else if (strcmp(recorded_name, name) != 0)
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "checksum record %s is damaged: it describes %s, not %s",
                           sum_key, recorded_name, name);
    else
        sum->size = (uint64_t)json_integer_value(bytes);
    json_decref(doc);
    return rc;
}

int pgb_wal_sum_equal(const struct pgb_wal_sum *a, const struct pgb_wal_sum *b)
{
    return a->size == b->size && memcmp(a->sha256, b->sha256, sizeof(a->sha256)) == 0;
}
