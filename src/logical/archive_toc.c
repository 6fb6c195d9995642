#include "logical/archive_toc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"

void pgb_archive_toc_clear(struct pgb_archive_toc *toc)
{
    for (size_t i = 0; i < toc->count; i++) {
        struct pgb_archive_entry *e = &toc->entries[i];
        free(e->desc);
        free(e->namespace);
        free(e->tag);
        free(e->owner);
        free(e->deps);
        free(e->file);
    }
    free(toc->entries);
    free(toc->dbname);
    free(toc->server_version);
    free(toc->dump_version);
    memset(toc, 0, sizeof(*toc));
}

long pgb_archive_toc_index(const struct pgb_archive_toc *toc, int id)
{
    for (size_t i = 0; i < toc->count; i++)
        if (toc->entries[i].id == id)
            return (long)i;
    return -1;
}

const struct pgb_archive_entry *pgb_archive_toc_find(const struct pgb_archive_toc *toc, int id)
{
    long i = pgb_archive_toc_index(toc, id);
    return i < 0 ? NULL : &toc->entries[i];
}

json_t *pgb_archive_toc_to_json(const struct pgb_archive_toc *toc)
{
    char version[32];
    snprintf(version, sizeof(version), "%d.%d.%d", toc->version[0], toc->version[1], toc->version[2]);
    json_t *entries = json_array();
    json_t *doc = json_pack("{s:i, s:s, s:i, s:i, s:s?, s:s?, s:s?, s:I, s:I, s:o}", "format_version", 1,
                            "archive_version", version, "int_size", toc->int_size, "off_size", toc->off_size,
                            "dbname", toc->dbname, "server_version", toc->server_version, "dump_version",
                            toc->dump_version, "prefix_size", (json_int_t)toc->prefix_size, "archive_size",
                            (json_int_t)toc->archive_size, "entries", entries);
    if (doc)
        json_object_set_new(doc, "format",
                            json_string(toc->format == PGB_ARCHIVE_DIRECTORY_TOC ? "directory" : "custom"));
    for (size_t i = 0; doc && i < toc->count; i++) {
        const struct pgb_archive_entry *e = &toc->entries[i];
        json_t *deps = json_array();
        for (size_t j = 0; j < e->dep_count; j++)
            json_array_append_new(deps, json_integer(e->deps[j]));
        json_t *entry = json_pack("{s:i, s:s, s:s?, s:s, s:s?, s:[I,I], s:i, s:b, s:o, s:I, s:i, s:I, s:I}", "id",
                                  e->id, "desc", e->desc, "schema", e->namespace, "name", e->tag, "owner", e->owner,
                                  "catalog", (json_int_t)e->catalog_table, (json_int_t)e->catalog_oid, "section",
                                  e->section, "has_data", e->had_dumper, "deps", deps, "offset_field",
                                  (json_int_t)e->offset_field, "offset_flag", e->offset_flag, "data_offset",
                                  (json_int_t)e->data_offset, "data_length", (json_int_t)e->data_length);
        if (entry && e->file)
            json_object_set_new(entry, "file", json_string(e->file));
        if (!entry || json_array_append_new(entries, entry) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

static char *dup_or_null(json_t *value, int *failed)
{
    if (!json_is_string(value))
        return NULL;
    char *copy = pgb_text_dup(json_string_value(value));
    if (!copy)
        *failed = 1;
    return copy;
}

int pgb_archive_toc_from_json(pgb_ctx *ctx, json_t *doc, struct pgb_archive_toc *toc)
{
    memset(toc, 0, sizeof(*toc));
    json_t *entries = json_object_get(doc, "entries");
    const char *version = json_string_value(json_object_get(doc, "archive_version"));
    if (json_integer_value(json_object_get(doc, "format_version")) != 1 || !json_is_array(entries) || !version ||
        sscanf(version, "%d.%d.%d", &toc->version[0], &toc->version[1], &toc->version[2]) != 3)
        return pgb_error_set(ctx, PGB_ECORRUPT, "the stored table of contents is not one this version reads");
    int failed = 0;
    const char *format = json_string_value(json_object_get(doc, "format"));
    toc->format = format && strcmp(format, "directory") == 0 ? PGB_ARCHIVE_DIRECTORY_TOC : PGB_ARCHIVE_CUSTOM;
    toc->int_size = (int)json_integer_value(json_object_get(doc, "int_size"));
    toc->off_size = (int)json_integer_value(json_object_get(doc, "off_size"));
    toc->dbname = dup_or_null(json_object_get(doc, "dbname"), &failed);
    toc->server_version = dup_or_null(json_object_get(doc, "server_version"), &failed);
    toc->dump_version = dup_or_null(json_object_get(doc, "dump_version"), &failed);
    toc->prefix_size = (uint64_t)json_integer_value(json_object_get(doc, "prefix_size"));
    toc->archive_size = (uint64_t)json_integer_value(json_object_get(doc, "archive_size"));
    size_t count = json_array_size(entries);
    toc->entries = calloc(count ? count : 1, sizeof(*toc->entries));
    if (!toc->entries)
        failed = 1;
    for (size_t i = 0; !failed && i < count; i++) {
        json_t *o = json_array_get(entries, i);
        struct pgb_archive_entry *e = &toc->entries[i];
        toc->count = i + 1;
        json_t *catalog = json_object_get(o, "catalog"), *deps = json_object_get(o, "deps");
        e->id = (int)json_integer_value(json_object_get(o, "id"));
        e->desc = dup_or_null(json_object_get(o, "desc"), &failed);
        e->namespace = dup_or_null(json_object_get(o, "schema"), &failed);
        e->tag = dup_or_null(json_object_get(o, "name"), &failed);
        e->owner = dup_or_null(json_object_get(o, "owner"), &failed);
        e->file = dup_or_null(json_object_get(o, "file"), &failed);
        e->catalog_table = (uint32_t)json_integer_value(json_array_get(catalog, 0));
        e->catalog_oid = (uint32_t)json_integer_value(json_array_get(catalog, 1));
        e->section = (int)json_integer_value(json_object_get(o, "section"));
        e->had_dumper = json_is_true(json_object_get(o, "has_data"));
        e->offset_field = (uint64_t)json_integer_value(json_object_get(o, "offset_field"));
        e->offset_flag = (int)json_integer_value(json_object_get(o, "offset_flag"));
        e->data_offset = json_integer_value(json_object_get(o, "data_offset"));
        e->data_length = (uint64_t)json_integer_value(json_object_get(o, "data_length"));
        if (!failed && (e->id <= 0 || !e->desc || !e->tag || !json_is_array(deps))) {
            pgb_archive_toc_clear(toc);
            return pgb_error_set(ctx, PGB_ECORRUPT, "entry %zu of the stored table of contents is damaged", i);
        }
        e->dep_count = json_array_size(deps);
        e->deps = calloc(e->dep_count ? e->dep_count : 1, sizeof(*e->deps));
        if (!e->deps)
            failed = 1;
        for (size_t j = 0; !failed && j < e->dep_count; j++)
            e->deps[j] = (int)json_integer_value(json_array_get(deps, j));
    }
    if (failed) {
        pgb_archive_toc_clear(toc);
        return pgb_error_nomem(ctx);
    }
    return PGB_OK;
}

void pgb_archive_toc_patch_offsets(const struct pgb_archive_toc *toc, uint8_t *prefix, size_t size)
{
    for (size_t i = 0; i < toc->count; i++) {
        const struct pgb_archive_entry *e = &toc->entries[i];
        if (e->data_offset < 0 || e->offset_field + 1 + (uint64_t)toc->off_size > size)
            continue;
        /* pg_backup_archiver.c WriteOffset: the flag, then off_size bytes, least significant first. */
        uint8_t *p = prefix + e->offset_field;
        p[0] = PGB_OFFSET_POS_SET;
        uint64_t offset = (uint64_t)e->data_offset;
        for (int b = 0; b < toc->off_size; b++)
            p[1 + b] = b < 8 ? (uint8_t)(offset >> (8 * b)) : 0;
    }
}
