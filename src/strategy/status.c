/*
 * Status: the facts of a cluster and the advisor's findings as one JSON
 * document, from which every format is rendered (status_render.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <pgbackup/error.h>
#include <pgbackup/status.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/handle.h"
#include "strategy/advisor.h"
#include "strategy/facts.h"
#include "strategy/status_render.h"

struct pgb_cluster_status {
    uint32_t magic;
    json_t *doc;
    int level, errors;
    char *rendered[4];
};

static json_t *number_or_null(int64_t value)
{
    return value < 0 ? json_null() : json_integer((json_int_t)value);
}

static json_t *backup_kind(const struct pgb_strategy_facts *f, const char *type)
{
    json_t *newest = pgb_strategy_newest_backup(f, type);
    if (!newest)
        return json_null();
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(f->backups); i++) {
        const char *t = json_string_value(json_object_get(json_array_get(f->backups, i), "type"));
        count += t && strcmp(t, type) == 0;
    }
    return json_pack("{s:I, s:O, s:o, s:O?, s:O?}", "count", (json_int_t)count, "newest_id",
                     json_object_get(newest, "id"), "age_seconds",
                     number_or_null(pgb_strategy_age(f, newest, "stop_time")), "stored_bytes",
                     json_object_get(newest, "stored_size"), "database_bytes",
                     json_object_get(newest, "database_size"));
}

static json_t *server_part(const struct pgb_strategy_facts *f)
{
    if (f->server_error)
        return json_pack("{s:s}", "error", f->server_error);
    if (!f->server)
        return json_null();
    json_t *a = json_object_get(f->server, "archiver");
    return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:o}", "archive_mode",
                     json_object_get(f->server, "archive_mode"), "archived_count",
                     json_object_get(a, "archived_count"), "failed_count", json_object_get(a, "failed_count"),
                     "last_archived_wal", json_object_get(a, "last_archived_wal"), "seconds_since_last_archived",
                     json_object_get(a, "seconds_since_last_archived"), "failing", json_object_get(a, "failing"),
                     "ready_count", json_object_get(a, "ready_count"), "standbys", number_or_null(f->standbys));
}

static json_t *drills_part(const struct pgb_strategy_facts *f)
{
    json_t *last = pgb_strategy_last_drill(f);
    json_t *summary = last ? json_pack("{s:O, s:O, s:O, s:O, s:o}", "id", json_object_get(last, "id"), "passed",
                                       json_object_get(last, "passed"), "rto_seconds",
                                       json_object_get(last, "rto_seconds"), "finished_at",
                                       json_object_get(last, "finished_at"), "age_seconds",
                                       number_or_null(pgb_strategy_age(f, last, "finished_at")))
                           : json_null();
    return json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(f->drills), "last", summary);
}

static json_t *make_document(const struct pgb_strategy_facts *f, json_t *findings, const char *level)
{
    char now[PGB_ISO8601_SIZE], archived_at[PGB_ISO8601_SIZE];
    pgb_time_iso8601((time_t)f->now, now);
    if (f->newest_archived_at > 0)
        pgb_time_iso8601((time_t)f->newest_archived_at, archived_at);
    json_t *archive = json_pack("{s:I, s:s?, s:s?, s:o}", "files", (json_int_t)f->archived_files, "newest_segment",
                                f->newest_segment[0] ? f->newest_segment : NULL, "newest_archived_at",
                                f->newest_archived_at > 0 ? archived_at : NULL, "age_seconds",
                                number_or_null(f->newest_archived_at > 0 ? f->now - f->newest_archived_at : -1));
    return json_pack("{s:i, s:s, s:s, s:s, s:{s:o, s:o, s:o}, s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:o}",
                     "format_version", 1, "cluster", f->cluster, "generated_at", now, "level", level, "backups",
                     "physical", backup_kind(f, "physical"), "logical", backup_kind(f, "logical"), "globals",
                     backup_kind(f, "globals"), "archive", archive, "recovery_point_age_seconds",
                     number_or_null(pgb_advisor_recovery_point_age(f)), "server", server_part(f), "drills",
                     drills_part(f), "goals", "rpo_seconds", number_or_null(pgb_policy_get(f->policy, "rpo")),
                     "rto_seconds", number_or_null(pgb_policy_get(f->policy, "rto")), "findings", json_incref(findings));
}

int pgb_cluster_status_new(pgb_cluster_status **out, pgb_repo *repo, const pgb_options *opts)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (!out)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "pgb_cluster_status_new: out is NULL");
    *out = NULL;
    struct pgb_strategy_facts facts;
    int rc = pgb_strategy_facts_collect(repo, opts, &facts);
    if (rc != PGB_OK)
        return rc;
    pgb_cluster_status *s = calloc(1, sizeof(*s));
    json_t *findings = pgb_advisor_findings(&facts);
    size_t i;
    json_t *finding;
    int warnings = 0;
    json_array_foreach(findings, i, finding) {
        int error = strcmp(json_string_value(json_object_get(finding, "severity")), "error") == 0;
        if (s)
            s->errors += error;
        warnings += !error;
    }
    if (s) {
        s->magic = PGB_MAGIC_STATUS;
        s->level = s->errors ? PGB_HEALTH_CRITICAL : warnings ? PGB_HEALTH_WARNING : PGB_HEALTH_OK;
        static const char *const names[] = {"ok", "warning", "critical", "unknown"};
        s->doc = make_document(&facts, findings, names[s->level]);
    }
    json_decref(findings);
    pgb_strategy_facts_clear(&facts);
    if (!s || !s->doc) {
        pgb_cluster_status_free(s);
        return pgb_error_nomem(repo->ctx);
    }
    *out = s;
    return PGB_OK;
}

int pgb_cluster_status_level(const pgb_cluster_status *s)
{
    return s && s->magic == PGB_MAGIC_STATUS ? s->level : PGB_HEALTH_UNKNOWN;
}

int pgb_cluster_status_error_count(const pgb_cluster_status *s)
{
    return s && s->magic == PGB_MAGIC_STATUS ? s->errors : 0;
}

const char *pgb_cluster_status_render(pgb_cluster_status *s, const char *format)
{
    static const char *const formats[] = {"json", "text", "prometheus", "nagios"};
    if (!s || s->magic != PGB_MAGIC_STATUS || !format)
        return NULL;
    for (int i = 0; i < 4; i++) {
        if (strcmp(format, formats[i]) != 0)
            continue;
        if (!s->rendered[i])
            s->rendered[i] = i == 0 ? json_dumps(s->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
                             : i == 1 ? pgb_status_render_text(s->doc)
                             : i == 2 ? pgb_status_render_prometheus(s->doc)
                                      : pgb_status_render_nagios(s->doc);
        return s->rendered[i];
    }
    return NULL;
}

void pgb_cluster_status_free(pgb_cluster_status *s)
{
    if (!s || s->magic != PGB_MAGIC_STATUS)
        return;
    json_decref(s->doc);
    for (int i = 0; i < 4; i++)
        free(s->rendered[i]);
    s->magic = PGB_MAGIC_FREED;
    free(s);
}
