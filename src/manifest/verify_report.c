#include "manifest/verify_report.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pgbackup/error.h>

#include "core/hex.h"
#include "core/text.h"
#include "manifest/utf8.h"

#define REPORT_MAGIC 0x50474256u  /* "PGBV" */
#define FINDING_MAGIC 0x50474246u /* "PGBF" */
#define FREED_MAGIC 0x44454144u   /* "DEAD", as handle.h */

const char PGB_FINDING_MISSING[] = "missing", PGB_FINDING_EXTRA[] = "extra", PGB_FINDING_SIZE[] = "size",
           PGB_FINDING_CHECKSUM[] = "checksum", PGB_FINDING_WAL_MISSING[] = "wal-missing",
           PGB_FINDING_MANIFEST[] = "manifest";

struct pgb_verify_finding {
    uint32_t magic;
    const char *kind; /* static */
    char *path;
    char *message;
};

struct pgb_verify_report {
    uint32_t magic;
    int sealed;
    size_t next; /* the iterator's position */
    char *directory;
    struct pgb_verify_finding *findings;
    size_t count, capacity;
    uint64_t files_checked, bytes_checked;
    char *json;
};

static int is_report(const pgb_verify_report *report)
{
    return report && report->magic == REPORT_MAGIC && report->sealed;
}

static int is_finding(const pgb_verify_finding *finding)
{
    return finding && finding->magic == FINDING_MAGIC;
}

pgb_verify_report *pgb_verify_report_new(const char *directory)
{
    pgb_verify_report *report = calloc(1, sizeof(*report));
    if (!report || !(report->directory = pgb_text_dup(directory))) {
        free(report);
        return NULL;
    }
    report->magic = REPORT_MAGIC;
    return report;
}

int pgb_verify_report_add(pgb_verify_report *report, const char *kind, const char *path, const char *message)
{
    if (report->count == report->capacity) {
        size_t capacity = report->capacity ? 2 * report->capacity : 16;
        struct pgb_verify_finding *grown = realloc(report->findings, capacity * sizeof(*grown));
        if (!grown)
            return PGB_ENOMEM;
        report->findings = grown;
        report->capacity = capacity;
    }
    char *path_copy = pgb_text_dup(path), *message_copy = pgb_text_dup(message);
    if (!path_copy || !message_copy) {
        free(path_copy);
        free(message_copy);
        return PGB_ENOMEM;
    }
    report->findings[report->count++] = (struct pgb_verify_finding){FINDING_MAGIC, kind, path_copy, message_copy};
    return PGB_OK;
}

void pgb_verify_report_count(pgb_verify_report *report, uint64_t files, uint64_t bytes)
{
    report->files_checked += files;
    report->bytes_checked += bytes;
}

/* JSON strings must be UTF-8: file names need not be. */
static json_t *json_text(const char *s)
{
    char *clean = pgb_utf8_sanitized(s);
    json_t *value = clean ? json_string(clean) : NULL;
    free(clean);
    return value;
}

static json_t *finding_json(const struct pgb_verify_finding *finding)
{
    json_t *item = json_object();
    if (!item)
        return NULL;
    int failed = json_object_set_new(item, "kind", json_string(finding->kind)) != 0;
    failed |= json_object_set_new(item, "path", json_text(finding->path)) != 0;
    failed |= json_object_set_new(item, "message", json_text(finding->message)) != 0;
    size_t length = strlen(finding->path);
    if (!pgb_utf8_is_valid(finding->path, length)) {
        char *hex = malloc(2 * length + 1);
        if (hex)
            pgb_hex_encode((const uint8_t *)finding->path, length, hex);
        failed |= !hex || json_object_set_new(item, "encoded_path", json_string(hex)) != 0;
        free(hex);
    }
    if (failed) {
        json_decref(item);
        return NULL;
    }
    return item;
}

int pgb_verify_report_seal(pgb_verify_report *report)
{
    json_t *doc = json_object(), *problems = json_array();
    int failed = !doc || !problems;
    for (size_t i = 0; !failed && i < report->count; i++)
        failed = json_array_append_new(problems, finding_json(&report->findings[i])) != 0;
    if (!failed) {
        failed |= json_object_set_new(doc, "format_version", json_integer(1)) != 0;
        failed |= json_object_set_new(doc, "directory", json_text(report->directory)) != 0;
        failed |= json_object_set_new(doc, "ok", json_boolean(report->count == 0)) != 0;
        failed |= json_object_set_new(doc, "files_checked", json_integer((json_int_t)report->files_checked)) != 0;
        failed |= json_object_set_new(doc, "bytes_checked", json_integer((json_int_t)report->bytes_checked)) != 0;
        failed |= json_object_set(doc, "problems", problems) != 0;
    }
    if (!failed)
        failed = !(report->json = json_dumps(doc, JSON_INDENT(2)));
    json_decref(problems);
    json_decref(doc);
    if (failed)
        return PGB_ENOMEM;
    report->sealed = 1;
    return PGB_OK;
}

/* ---- public accessors ---- */

int pgb_verify_report_ok(const pgb_verify_report *report)
{
    return is_report(report) && report->count == 0;
}

size_t pgb_verify_report_problem_count(const pgb_verify_report *report)
{
    return is_report(report) ? report->count : 0;
}

int pgb_verify_report_next(pgb_verify_report *report, const pgb_verify_finding **finding)
{
    if (!is_report(report) || !finding)
        return PGB_EINVALID;
    if (report->next >= report->count) {
        *finding = NULL;
        return PGB_ITEROVER;
    }
    *finding = &report->findings[report->next++];
    return PGB_OK;
}

const char *pgb_verify_finding_kind(const pgb_verify_finding *finding)
{
    return is_finding(finding) ? finding->kind : NULL;
}

const char *pgb_verify_finding_path(const pgb_verify_finding *finding)
{
    return is_finding(finding) ? finding->path : NULL;
}

const char *pgb_verify_finding_message(const pgb_verify_finding *finding)
{
    return is_finding(finding) ? finding->message : NULL;
}

const char *pgb_verify_report_to_json(const pgb_verify_report *report)
{
    return is_report(report) ? report->json : NULL;
}

void pgb_verify_report_free(pgb_verify_report *report)
{
    if (!report || report->magic != REPORT_MAGIC)
        return;
    for (size_t i = 0; i < report->count; i++) {
        report->findings[i].magic = FREED_MAGIC;
        free(report->findings[i].path);
        free(report->findings[i].message);
    }
    free(report->findings);
    free(report->directory);
    free(report->json);
    report->magic = FREED_MAGIC;
    free(report);
}
