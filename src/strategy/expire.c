/*
 * Applying retention (retention.c decides): under the cluster's writer lock,
 * so no backup is being written meanwhile. For each backup that goes, its
 * catalog record is removed first (from then on it is no backup), then its
 * own objects. Then archived WAL older than the start of the oldest physical
 * backup kept (history files always stay), then packs that no kept backup's
 * file list references. A crash at any point leaves only garbage that the
 * next run removes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <pgbackup/error.h>
#include <pgbackup/expire.h>
#include <pgbackup/options.h>
#include <pgbackup/policy.h>
#include <pgbackup/storage.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "pg/lsn.h"
#include "repo/catalog.h"
#include "repo/file_list.h"
#include "repo/repo.h"
#include "storage/storage.h"
#include "strategy/retention.h"
#include "wal/wal_file.h"

/* Keys gathered from a listing. */
struct keys {
    char **items;
    uint64_t *sizes;
    size_t count;
    int failed;
};

static int collect(const char *key, uint64_t size, void *payload)
{
    struct keys *k = payload;
    char **grown = realloc(k->items, (k->count + 1) * sizeof(*grown));
    if (grown)
        k->items = grown;
    uint64_t *sizes = grown ? realloc(k->sizes, (k->count + 1) * sizeof(*sizes)) : NULL;
    if (sizes)
        k->sizes = sizes;
    char *copy = sizes ? strdup(key) : NULL;
    if (!copy) {
        k->failed = 1;
        return 1;
    }
    k->sizes[k->count] = size;
    k->items[k->count++] = copy;
    return 0;
}

static void keys_clear(struct keys *k)
{
    for (size_t i = 0; i < k->count; i++)
        free(k->items[i]);
    free(k->items);
    free(k->sizes);
    memset(k, 0, sizeof(*k));
}

static int list_keys(struct pgb_repo *repo, const char *suffix, struct keys *out)
{
    char prefix[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, suffix, prefix);
    memset(out, 0, sizeof(*out));
    int rc = pgb_storage_list(repo->storage, prefix, collect, out);
    return out->failed ? pgb_error_nomem(repo->ctx) : rc;
}

struct plan {
    int dry_run;
    json_t *records, *decisions;
    json_t *report;
    uint64_t oldest_kept_segno; /* WAL below it goes; UINT64_MAX: no physical backup kept, no WAL goes */
    uint64_t segment_size;
};

static int remove_backup(struct pgb_repo *repo, const char *id)
{
    char suffix[PGB_KEY_SIZE], key[PGB_KEY_SIZE];
    snprintf(suffix, sizeof(suffix), "backups/%s", id);
    pgb_repo_cluster_key(repo, suffix, key);
    int rc = pgb_storage_remove(repo->storage, key);
    struct keys content = {0};
    snprintf(suffix, sizeof(suffix), "content/%s/", id);
    if (rc == PGB_OK)
        rc = list_keys(repo, suffix, &content);
    for (size_t i = 0; rc == PGB_OK && i < content.count; i++)
        rc = pgb_storage_remove(repo->storage, content.items[i]);
    keys_clear(&content);
    return rc;
}

/* The start segment of the oldest physical backup kept, and the segment size. */
static void find_wal_floor(struct plan *p)
{
    p->oldest_kept_segno = UINT64_MAX;
    size_t i;
    json_t *d;
    json_array_foreach(p->decisions, i, d) {
        json_t *record = json_array_get(p->records, i);
        const char *type = json_string_value(json_object_get(record, "type"));
        uint64_t start = 0, size = (uint64_t)json_integer_value(json_object_get(record, "wal_segment_size"));
        if (!json_is_true(json_object_get(d, "keep")) || !type || strcmp(type, "physical") != 0 ||
            !pgb_wal_segment_size_valid(size) ||
            pgb_lsn_parse(NULL, json_string_value(json_object_get(record, "start_lsn")) ?: "", &start) != PGB_OK)
            continue;
        p->segment_size = size;
        if (start / size < p->oldest_kept_segno)
            p->oldest_kept_segno = start / size;
    }
}

/* Whether an archived file is older than every kept physical backup's start (history files never are). */
static int wal_expired(const struct plan *p, const char *name)
{
    int kind = 0;
    uint64_t segno = 0;
    char segment[PGB_WAL_NAME_SIZE];
    if (p->oldest_kept_segno == UINT64_MAX || pgb_wal_file_classify(NULL, NULL, name, &kind, NULL) != PGB_OK ||
        kind == PGB_WAL_FILE_HISTORY)
        return 0;
    snprintf(segment, sizeof(segment), "%.24s", name);
    return pgb_wal_segment_name_parse(NULL, segment, p->segment_size, NULL, &segno) == PGB_OK &&
           segno < p->oldest_kept_segno;
}

static int expire_wal(struct pgb_repo *repo, struct plan *p)
{
    struct keys wal = {0};
    int rc = list_keys(repo, "wal/", &wal);
    uint64_t removed = 0, bytes = 0;
    char first[PGB_WAL_FILE_NAME_MAX + 8] = "", last[PGB_WAL_FILE_NAME_MAX + 8] = "";
    for (size_t i = 0; rc == PGB_OK && i < wal.count; i++) {
        const char *name = strrchr(wal.items[i], '/') + 1;
        char file[PGB_WAL_FILE_NAME_MAX + 8];
        snprintf(file, sizeof(file), "%s", name);
        size_t len = strlen(file);
        int record = len > 4 && strcmp(file + len - 4, ".sum") == 0;
        if (record)
            file[len - 4] = '\0';
        if (!wal_expired(p, file))
            continue;
        if (!record) {
            removed++;
            if (!first[0] || strcmp(file, first) < 0)
                snprintf(first, sizeof(first), "%s", file);
            if (strcmp(file, last) > 0)
                snprintf(last, sizeof(last), "%s", file);
        }
        bytes += wal.sizes[i];
        if (!p->dry_run)
            rc = pgb_storage_remove(repo->storage, wal.items[i]);
    }
    keys_clear(&wal);
    char floor[PGB_WAL_NAME_SIZE] = "";
    if (p->oldest_kept_segno != UINT64_MAX)
        pgb_wal_segment_name(1, p->oldest_kept_segno, p->segment_size, floor);
    json_object_set_new(p->report, "wal", json_pack("{s:I, s:I, s:s?, s:s?, s:s?}", "removed", (json_int_t)removed,
                                                    "bytes", (json_int_t)bytes, "first", first[0] ? first : NULL,
                                                    "last", last[0] ? last : NULL, "kept_from_position",
                                                    floor[0] ? floor + 8 : NULL));
    return rc;
}

/* Packs no kept backup references. The kept backups' file lists say which are in use. */
static int expire_packs(struct pgb_repo *repo, struct plan *p)
{
    json_t *used = json_object();
    int rc = used ? PGB_OK : pgb_error_nomem(repo->ctx);
    size_t i;
    json_t *d;
    json_array_foreach(p->decisions, i, d) {
        if (rc != PGB_OK || !json_is_true(json_object_get(d, "keep")))
            continue;
        struct pgb_file_list list;
        rc = pgb_file_list_load(repo, json_string_value(json_object_get(d, "id")), &list);
        for (size_t e = 0; rc == PGB_OK && e < list.count; e++)
            for (size_t c = 0; c < list.entries[e].chunk_count; c++)
                json_object_set_new(used, list.entries[e].chunks[c].ref.pack, json_true());
        if (rc == PGB_OK)
            pgb_file_list_clear(&list);
    }
    struct keys packs = {0};
    if (rc == PGB_OK)
        rc = list_keys(repo, "packs/", &packs);
    uint64_t removed = 0, bytes = 0, kept = 0;
    for (size_t k = 0; rc == PGB_OK && k < packs.count; k++) {
        const char *name = strrchr(packs.items[k], '/') + 1;
        if (json_object_get(used, name)) {
            kept++;
            continue;
        }
        bytes += packs.sizes[k];
        removed++;
        if (!p->dry_run)
            rc = pgb_storage_remove(repo->storage, packs.items[k]);
    }
    keys_clear(&packs);
    json_decref(used);
    json_object_set_new(p->report, "packs", json_pack("{s:I, s:I, s:I}", "removed", (json_int_t)removed, "bytes",
                                                      (json_int_t)bytes, "kept", (json_int_t)kept));
    return rc;
}

static int read_rules(struct pgb_repo *repo, struct pgb_retention *rules, json_t **policy_json)
{
    pgb_policy *policy = NULL;
    int rc = pgb_policy_load(&policy, repo);
    if (rc != PGB_OK)
        return rc;
    rules->keep_full = pgb_policy_get(policy, "keep-full");
    rules->keep_age = pgb_policy_get(policy, "keep-age");
    rules->pitr_window = pgb_policy_get(policy, "pitr-window");
    *policy_json = json_pack("{s:o, s:o, s:o}", "keep_full",
                             rules->keep_full >= 0 ? json_integer(rules->keep_full) : json_null(), "keep_age_seconds",
                             rules->keep_age >= 0 ? json_integer(rules->keep_age) : json_null(),
                             "pitr_window_seconds",
                             rules->pitr_window >= 0 ? json_integer(rules->pitr_window) : json_null());
    pgb_policy_free(policy);
    return PGB_OK;
}

static int read_clock(pgb_ctx *ctx, const pgb_options *opts, int64_t *now)
{
    const char *as_of = NULL;
    int64_t micros = 0;
    *now = (int64_t)time(NULL);
    if (!opts || pgb_options_get(opts, "as-of", &as_of) != PGB_OK || !as_of)
        return PGB_OK;
    if (pgb_time_parse_iso8601(as_of, &micros) != 0)
        return pgb_error_set(ctx, PGB_EINVALID, "as-of '%s' is not a time with an offset, such as "
                             "2026-11-24T10:15:00+00:00", as_of);
    *now = micros / 1000000;
    return PGB_OK;
}

static int run(struct pgb_repo *repo, const pgb_options *opts, struct plan *p)
{
    struct pgb_retention rules;
    json_t *policy = NULL;
    int64_t now = 0;
    int rc = read_clock(repo->ctx, opts, &now);
    if (rc == PGB_OK)
        rc = read_rules(repo, &rules, &policy);
    if (rc == PGB_OK)
        rc = pgb_catalog_read_all(repo, &p->records);
    if (rc == PGB_OK && !(p->decisions = pgb_retention_decide(p->records, &rules, now)))
        rc = pgb_error_nomem(repo->ctx);
    char as_of[PGB_ISO8601_SIZE];
    pgb_time_iso8601((time_t)now, as_of);
    p->report = rc == PGB_OK ? json_pack("{s:i, s:s, s:b, s:o, s:O}", "format_version", 1, "as_of", as_of, "dry_run",
                                         p->dry_run, "policy", policy, "backups", p->decisions)
                             : NULL;
    if (rc == PGB_OK && !p->report)
        rc = pgb_error_nomem(repo->ctx);
    size_t i;
    json_t *d;
    json_array_foreach(p->decisions, i, d) {
        if (rc != PGB_OK || json_is_true(json_object_get(d, "keep")))
            continue;
        const char *id = json_string_value(json_object_get(d, "id"));
        pgb_log(repo->ctx, PGB_LOG_INFO, "%s backup %s: beyond the retention of the policy",
                p->dry_run ? "would remove" : "removing", id);
        if (!p->dry_run)
            rc = remove_backup(repo, id);
    }
    if (rc == PGB_OK) {
        /* With no rule set nothing goes, not even WAL older than every backup. */
        find_wal_floor(p);
        if (rules.keep_full < 0 && rules.keep_age < 0 && rules.pitr_window < 0)
            p->oldest_kept_segno = UINT64_MAX;
        rc = expire_wal(repo, p);
    }
    if (rc == PGB_OK)
        rc = expire_packs(repo, p);
    return rc;
}

int pgb_expire(pgb_repo *repo, const pgb_options *opts, char **report)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (!report)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "pgb_expire: report is NULL");
    *report = NULL;
    struct plan p = {0};
    int dry_run = 0;
    if (opts)
        pgb_options_get_bool(opts, "dry-run", &dry_run);
    p.dry_run = dry_run == 1;
    int held_before = repo->holds_lock;
    int rc = p.dry_run ? PGB_OK : pgb_repo_lock(repo);
    int locked = rc == PGB_OK && !p.dry_run && !held_before;
    if (rc == PGB_OK)
        rc = run(repo, opts, &p);
    if (rc == PGB_OK && !(*report = json_dumps(p.report, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
        rc = pgb_error_nomem(repo->ctx);
    if (locked) {
        char *message = rc != PGB_OK ? strdup(pgb_ctx_errmsg(repo->ctx)) : NULL;
        pgb_repo_lock_release(repo);
        if (rc != PGB_OK)
            pgb_error_set(repo->ctx, rc, "%s", message ? message : "expire failed");
        free(message);
    }
    json_decref(p.records);
    json_decref(p.decisions);
    json_decref(p.report);
    return rc;
}
