/*
 * Verifying a physical backup inside the repository: every byte is read back
 * through the pipeline as a restore would, but nothing is written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include <pgbackup/error.h>
#include <pgbackup/progress.h>
#include <pgbackup/verify.h>

#include "core/error.h"
#include "core/progress.h"
#include "manifest/manifest.h"
#include "manifest/verify_report.h"
#include "pg/lsn.h"
#include "repo/catalog.h"
#include "repo/file_list.h"
#include "restore/read_workers.h"
#include "restore/verify_read.h"

/* Findings about one read file, against the file list and the server's manifest. */
static int file_findings(const struct pgb_file_entry *e, const struct pgb_verify_file_outcome *o,
                         const struct pgb_manifest *manifest, pgb_verify_report *report)
{
    const struct pgb_manifest_file *m = manifest ? pgb_manifest_find(manifest, e->path) : NULL;
    int rc = PGB_OK;
    if (manifest && !m)
        rc = pgb_verify_report_add(report, PGB_FINDING_EXTRA, e->path, "in the backup but not in its manifest");
    if (rc != PGB_OK)
        return rc;
    if (o->read != PGB_OK)
        return pgb_verify_report_add(report, o->read == PGB_ENOTFOUND ? PGB_FINDING_MISSING : PGB_FINDING_CHECKSUM,
                                     e->path, o->why);
    if (CRYPTO_memcmp(o->digest, e->sha256, 32) != 0)
        return pgb_verify_report_add(report, PGB_FINDING_CHECKSUM, e->path,
                                     "stored content does not match the SHA-256 of the file list");
    if (m && m->size != e->size)
        return pgb_verify_report_add(report, PGB_FINDING_SIZE, e->path, "size differs from the manifest");
    if (m && m->checksum_type == PGB_CHECKSUM_SHA256 && memcmp(m->checksum, o->digest, 32) != 0)
        return pgb_verify_report_add(report, PGB_FINDING_CHECKSUM, e->path,
                                     "stored content does not match the server's manifest checksum");
    return PGB_OK;
}

/*
 * Read everything back (restore/verify_read.c); then, on this thread and in
 * the file list's order, turn the outcomes into findings, so that the report
 * is the same whatever jobs is.
 */
static int check_files(struct pgb_repo *repo, const struct pgb_file_list *list, const struct pgb_manifest *manifest,
                       const struct pgb_verify_wal_segment *wal, size_t wal_count, uint64_t segment_size,
                       pgb_verify_report *report, int jobs, uint64_t *bytes)
{
    struct pgb_verify_reading reading;
    int rc = pgb_verify_read(repo, list, wal, wal_count, jobs, &reading);
    if (rc == PGB_OK)
        rc = pgb_check_canceled(repo->ctx);
    size_t checked = 0;
    for (size_t i = 0; rc == PGB_OK && i < list->count; i++) {
        const struct pgb_file_entry *e = &list->entries[i];
        if (e->type != PGB_FILE_REGULAR)
            continue;
        struct pgb_verify_file_outcome outcome;
        pgb_verify_file_outcome(&reading, e, i, &outcome);
        rc = file_findings(e, &outcome, manifest, report);
        *bytes += e->size;
        checked++;
    }
    if (rc == PGB_OK)
        pgb_verify_report_count(report, checked, *bytes);
    /* WAL findings after the files', in the order of the segments. */
    for (size_t k = 0; rc == PGB_OK && k < reading.count; k++) {
        const struct pgb_verify_outcome *o = &reading.outcomes[k];
        const struct pgb_verify_item *item = &reading.items[k];
        if (item->entry != PGB_VERIFY_WAL_ITEM)
            continue;
        if (o->read == PGB_OK && o->size != segment_size)
            rc = pgb_verify_report_add(report, PGB_FINDING_SIZE, wal[item->chunk].path,
                                       "WAL segment has the wrong size");
        else if (o->read != PGB_OK)
            rc = pgb_verify_report_add(report, o->read == PGB_ENOTFOUND ? PGB_FINDING_WAL_MISSING
                                                                        : PGB_FINDING_CHECKSUM,
                                       wal[item->chunk].path, o->why);
    }
    pgb_verify_reading_clear(&reading);
    return rc;
}

/* Every manifest file must be in the backup. */
static int check_manifest_covered(const struct pgb_file_list *list, const struct pgb_manifest *manifest,
                                  pgb_verify_report *report)
{
    /* Manifest paths are unique (the parser refuses repeats): as many regular files found in it means all. */
    size_t found_in_manifest = 0;
    for (size_t j = 0; j < list->count; j++)
        if (list->entries[j].type == PGB_FILE_REGULAR && pgb_manifest_find(manifest, list->entries[j].path))
            found_in_manifest++;
    if (found_in_manifest == pgb_manifest_file_count(manifest))
        return PGB_OK;
    int rc = PGB_OK;
    for (size_t i = 0; rc == PGB_OK && i < pgb_manifest_file_count(manifest); i++) {
        const char *path = pgb_manifest_file_at(manifest, i)->path;
        int found = 0;
        for (size_t j = 0; !found && j < list->count; j++)
            found = strcmp(list->entries[j].path, path) == 0;
        if (!found)
            rc = pgb_verify_report_add(report, PGB_FINDING_MISSING, path, "in the manifest but not in the backup");
    }
    return rc;
}

/* Every segment of the manifest's WAL ranges: read and checked with the files. */
static int wal_segments(struct pgb_repo *repo, const char *id, uint64_t segment_size,
                        const struct pgb_manifest *manifest, struct pgb_verify_wal_segment **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t capacity = 0;
    for (size_t i = 0; manifest && i < pgb_manifest_wal_range_count(manifest); i++) {
        const struct pgb_manifest_wal_range *range = pgb_manifest_wal_range_at(manifest, i);
        uint64_t first = range->start_lsn / segment_size;
        uint64_t last = (range->end_lsn > 0 ? range->end_lsn - 1 : 0) / segment_size;
        for (uint64_t segment = first; segment <= last; segment++) {
            if (*count == capacity) {
                capacity = capacity ? capacity * 2 : 16;
                struct pgb_verify_wal_segment *grown = realloc(*out, capacity * sizeof(*grown));
                if (!grown)
                    return pgb_error_nomem(repo->ctx);
                *out = grown;
            }
            struct pgb_verify_wal_segment *w = &(*out)[(*count)++];
            char name[PGB_WAL_NAME_SIZE], suffix[64];
            pgb_wal_segment_name(range->timeline, segment, segment_size, name);
            snprintf(suffix, sizeof(suffix), "wal/%s", name);
            pgb_backup_content_key(repo, id, suffix, w->key);
            snprintf(w->path, sizeof(w->path), "pg_wal/%s", name);
        }
    }
    return PGB_OK;
}

/* *physical: whether the record is a physical backup's (logical and globals backups have no manifest or WAL). */
static int find_record(struct pgb_repo *repo, const char *wanted, char *id, size_t id_size, uint64_t *segment_size,
                       int *physical)
{
    json_t *records = NULL;
    int rc = pgb_catalog_read_all(repo, &records);
    id[0] = '\0';
    for (size_t i = json_array_size(records); rc == PGB_OK && i > 0 && !id[0]; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *rid = json_string_value(json_object_get(r, "id"));
        const char *type = json_string_value(json_object_get(r, "type"));
        if (wanted ? strcmp(rid, wanted) == 0 : (type && strcmp(type, "physical") == 0)) {
            snprintf(id, id_size, "%s", rid);
            *physical = type && strcmp(type, "physical") == 0;
            json_int_t recorded = json_integer_value(json_object_get(r, "wal_segment_size"));
            *segment_size = recorded > 0 ? (uint64_t)recorded : 16u * 1024 * 1024;
        }
    }
    json_decref(records);
    if (rc == PGB_OK && !id[0])
        rc = wanted ? pgb_error_set(repo->ctx, PGB_ENOTFOUND, "backup %s not found in cluster %s", wanted,
                                    repo->cluster)
                    : pgb_error_set(repo->ctx, PGB_ENOTFOUND, "cluster %s has no physical backup to verify",
                                    repo->cluster);
    return rc;
}

int pgb_verify_backup(pgb_verify_report **out, pgb_repo *repo, const char *wanted)
{
    return pgb_verify_backup_with_options(out, repo, wanted, NULL);
}

int pgb_verify_backup_with_options(pgb_verify_report **out, pgb_repo *repo, const char *wanted,
                                   const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_ctx *ctx = repo->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_verify_backup: out is NULL");
    *out = NULL;
    if (!pgb_repo_can_read(repo))
        return pgb_error_set(ctx, PGB_EAUTH, "verifying needs --identity or --passphrase-file: this repository handle "
                             "holds only the writer key");
    char id[128];
    uint64_t segment_size = 0;
    int physical = 1;
    int rc = find_record(repo, wanted, id, sizeof(id), &segment_size, &physical);
    if (rc != PGB_OK)
        return rc;
    pgb_verify_report *report = pgb_verify_report_new(id);
    if (!report)
        return pgb_error_nomem(ctx);
    struct pgb_file_list list = {0};
    struct pgb_manifest *manifest = NULL;
    char key[PGB_KEY_SIZE];
    pgb_backup_content_key(repo, id, "backup_manifest", key);
    void *text = NULL;
    size_t size = 0;
    if (physical && (pgb_object_get(repo->storage, key, &repo->keys, &text, &size) != PGB_OK ||
                     pgb_manifest_parse(ctx, key, text, size, &manifest) != PGB_OK))
        rc = pgb_verify_report_add(report, PGB_FINDING_MANIFEST, "backup_manifest", pgb_ctx_errmsg(ctx));
    free(text);
    pgb_error_clear(ctx);
    int loaded = pgb_file_list_load(repo, id, &list);
    if (loaded != PGB_OK) {
        rc = pgb_verify_report_add(report, PGB_FINDING_MANIFEST, "files", pgb_ctx_errmsg(ctx));
        pgb_error_clear(ctx);
    }
    uint64_t bytes = 0;
    struct pgb_verify_wal_segment *wal = NULL;
    size_t wal_count = 0;
    if (rc == PGB_OK)
        rc = wal_segments(repo, id, segment_size, manifest, &wal, &wal_count);
    /* A list that did not load is a finding already: its WAL is still checked. */
    if (rc == PGB_OK)
        rc = check_files(repo, &list, manifest, wal, wal_count, segment_size, report, pgb_read_jobs(opts), &bytes);
    if (rc == PGB_OK && loaded == PGB_OK && manifest)
        rc = check_manifest_covered(&list, manifest, report);
    free(wal);
    if (rc == PGB_OK)
        rc = pgb_verify_report_seal(report);
    if (rc == PGB_ENOMEM && pgb_ctx_errcode(ctx) == PGB_OK)
        pgb_error_nomem(ctx);
    pgb_file_list_clear(&list);
    pgb_manifest_free(manifest);
    if (rc != PGB_OK) {
        pgb_verify_report_free(report);
        return rc;
    }
    *out = report;
    return PGB_OK;
}
