/*
 * Checksum records of archived WAL files: {"name": ..., "sha256": hex,
 * "size": bytes, "archived_at": ISO 8601}, a small object sealed like catalog
 * records (writer key).
 */
#include "wal/wal_sum.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/hex.h"
#include "pg/lsn.h"

int pgb_wal_sum_write(struct pgb_repo *repo, const char *sum_key, const char *name, const struct pgb_wal_sum *sum)
{
    char hex[2 * sizeof(sum->sha256) + 1];
    pgb_hex_encode(sum->sha256, sizeof(sum->sha256), hex);
    char now[PGB_ISO8601_SIZE];
    pgb_time_iso8601(time(NULL), now);
    json_t *doc = json_pack("{s:s, s:s, s:I, s:s}", "name", name, "sha256", hex, "size", (json_int_t)sum->size,
                            "archived_at", now);
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
    /* Records written before archived_at existed lack it. */
    int64_t micros = 0;
    const char *when = json_string_value(json_object_get(doc, "archived_at"));
    sum->archived_at = when && pgb_time_parse_iso8601(when, &micros) == 0 ? micros / 1000000 : 0;
    json_decref(doc);
    return rc;
}

int pgb_wal_sum_equal(const struct pgb_wal_sum *a, const struct pgb_wal_sum *b)
{
    return a->size == b->size && memcmp(a->sha256, b->sha256, sizeof(a->sha256)) == 0;
}

int pgb_wal_sum_write_received(struct pgb_repo *repo, const char *sum_key, const char *name,
                               const struct pgb_wal_sum *sum, uint64_t received_end)
{
    char hex[2 * sizeof(sum->sha256) + 1], now[PGB_ISO8601_SIZE], end[PGB_LSN_TEXT_SIZE];
    pgb_hex_encode(sum->sha256, sizeof(sum->sha256), hex);
    pgb_time_iso8601(time(NULL), now);
    json_t *doc = json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", name, "sha256", hex, "size", (json_int_t)sum->size,
                            "archived_at", now, "received_end", pgb_lsn_format(received_end, end));
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    /* The receiver replaces its partial segment as it grows, and this record with it. */
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, 0, &spec);
    int rc = pgb_object_put(repo->storage, sum_key, &repo->keys, &spec, text, strlen(text), NULL);
    free(text);
    return rc;
}

int pgb_wal_sum_read_received(struct pgb_repo *repo, const char *sum_key, const char *name, struct pgb_wal_sum *sum,
                              uint64_t *received_end)
{
    *received_end = 0;
    int rc = pgb_wal_sum_read(repo, sum_key, name, sum);
    if (rc != PGB_OK)
        return rc;
    char *text = NULL;
    size_t size = 0;
    rc = pgb_object_get(repo->storage, sum_key, &repo->keys, (void **)&text, &size);
    if (rc != PGB_OK)
        return rc;
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    const char *end = json_string_value(json_object_get(doc, "received_end"));
    if (end && pgb_lsn_parse(NULL, end, received_end) != PGB_OK)
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "checksum record %s is damaged: received_end is %s", sum_key,
                           end);
    json_decref(doc);
    return rc;
}
