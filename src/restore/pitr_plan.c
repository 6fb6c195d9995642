/*
 * Choosing the backup a point-in-time recovery starts from and checking the
 * archive for every segment it will read, as PostgreSQL will read them
 * (xlogrecovery.c): each segment comes from the newest timeline of the path
 * that had begun by that segment, so a timeline's WAL is read up to the
 * segment before its switch point and the child's from the segment holding it.
 */
#include "restore/pitr_plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/clock.h"
#include "core/error.h"
#include "pg/lsn.h"
#include "wal/wal_archive_index.h"
#include "wal/wal_file.h"
#include "wal/wal_sum.h"

/* A physical backup as recovery sees it. */
struct candidate {
    json_t *record;
    const char *id;
    uint32_t timeline;
    uint64_t start, stop, segment_size;
    int64_t stop_time;
};

static int read_candidate(pgb_ctx *ctx, json_t *r, struct candidate *c)
{
    c->record = r;
    c->id = json_string_value(json_object_get(r, "id"));
    c->timeline = (uint32_t)json_integer_value(json_object_get(r, "stop_timeline"));
    c->segment_size = (uint64_t)json_integer_value(json_object_get(r, "wal_segment_size"));
    const char *stop_time = json_string_value(json_object_get(r, "stop_time"));
    if (!c->id || c->timeline == 0 || !pgb_wal_segment_size_valid(c->segment_size) || !stop_time ||
        pgb_time_parse_iso8601(stop_time, &c->stop_time) != 0 ||
        pgb_lsn_parse(NULL, json_string_value(json_object_get(r, "start_lsn")) ?: "", &c->start) != PGB_OK ||
        pgb_lsn_parse(NULL, json_string_value(json_object_get(r, "stop_lsn")) ?: "", &c->stop) != PGB_OK)
        return pgb_error_set(ctx, PGB_ECORRUPT, "the catalog record of backup %s lacks its WAL position, timeline or "
                             "stop time", c->id ? c->id : "?");
    return PGB_OK;
}

static int is_physical(json_t *r)
{
    const char *type = json_string_value(json_object_get(r, "type"));
    return type && strcmp(type, "physical") == 0;
}

/* The path recovery follows to timeline: its history file, or the timeline alone when it is the backup's. */
static int load_path(struct pgb_repo *repo, const struct pgb_wal_archive_index *index, uint32_t timeline,
                     uint32_t backup_timeline, struct pgb_timeline_path *path)
{
    char what[64];
    snprintf(what, sizeof(what), "%08" PRIX32 ".history", timeline);
    if (!pgb_wal_archive_has_history(index, timeline)) {
        if (timeline == backup_timeline)
            return pgb_timeline_path_parse(repo->ctx, what, NULL, timeline, path);
        return pgb_error_set(repo->ctx, PGB_ENOTFOUND, "timeline %u has no history file (%s) in the archive of "
                             "cluster %s: recovery cannot follow it", timeline, what, repo->cluster);
    }
    char *text = NULL;
    int rc = pgb_wal_archive_read_history(repo, timeline, &text);
    if (rc == PGB_OK)
        rc = pgb_timeline_path_parse(repo->ctx, what, text, timeline, path);
    free(text);
    return rc;
}

static uint32_t followed_timeline(const struct pgb_wal_archive_index *index, const struct pgb_recovery_target *t,
                                  uint32_t backup_timeline)
{
    switch (t->timeline_choice) {
    case PGB_TIMELINE_CURRENT:
        return backup_timeline;
    case PGB_TIMELINE_NUMBER:
        return t->timeline;
    default:
        return pgb_wal_archive_latest_timeline(index, backup_timeline);
    }
}

/* Why backup c cannot start recovery to target along path, or NULL when it can. */
static const char *unsuitable(const struct candidate *c, const struct pgb_timeline_path *path,
                              const struct pgb_recovery_target *t, char *why, size_t size)
{
    const struct pgb_timeline_step *step = pgb_timeline_path_find(path, c->timeline);
    char lsn[PGB_LSN_TEXT_SIZE];
    if (!step || c->stop > step->end) {
        snprintf(why, size, "it is on timeline %u, which is not on the path to timeline %u before the backup's end",
                 c->timeline, path->steps[path->count - 1].timeline);
        return why;
    }
    if (t->kind == PGB_TARGET_LSN && c->stop > t->lsn) {
        snprintf(why, size, "it ends at %s, after the target LSN %s", pgb_lsn_format(c->stop, lsn), t->value);
        return why;
    }
    if (t->kind == PGB_TARGET_TIME && c->stop_time >= t->time) {
        snprintf(why, size, "it ended at %s, not before the target time %s",
                 json_string_value(json_object_get(c->record, "stop_time")), t->value);
        return why;
    }
    return NULL;
}

static int choose(struct pgb_repo *repo, json_t *records, const char *wanted, const struct pgb_recovery_target *t,
                  const struct pgb_wal_archive_index *index, struct pgb_pitr_plan *plan, struct candidate *chosen)
{
    pgb_ctx *ctx = repo->ctx;
    const char *last_reason = NULL;
    char why[256];
    for (size_t i = json_array_size(records); i > 0; i--) {
        json_t *r = json_array_get(records, i - 1);
        const char *id = json_string_value(json_object_get(r, "id"));
        if (!id || (wanted && strcmp(id, wanted) != 0) || (!wanted && !is_physical(r)))
            continue;
        if (!is_physical(r))
            return pgb_error_set(ctx, PGB_EINVALID, "backup %s is a %s backup: a physical restore needs a physical "
                                 "one", id, json_string_value(json_object_get(r, "type")) ?: "?");
        struct candidate c;
        int rc = read_candidate(ctx, r, &c);
        uint32_t timeline = followed_timeline(index, t, c.timeline);
        struct pgb_timeline_path path;
        if (rc == PGB_OK)
            rc = load_path(repo, index, timeline, c.timeline, &path);
        if (rc != PGB_OK)
            return rc;
        const char *reason = unsuitable(&c, &path, t, why, sizeof(why));
        if (!reason) {
            *chosen = c;
            plan->path = path;
            plan->timeline = timeline;
            return PGB_OK;
        }
        pgb_timeline_path_clear(&path);
        if (wanted)
            return pgb_error_set(ctx, PGB_EINVALID, "backup %s cannot start this recovery: %s", wanted, reason);
        last_reason = reason;
    }
    char timeline_text[16];
    if (wanted)
        return pgb_error_set(ctx, PGB_ENOTFOUND, "backup %s not found in cluster %s", wanted, repo->cluster);
    return pgb_error_set(ctx, PGB_ENOTFOUND, "no physical backup of cluster %s can start recovery to %s%s%s on "
                         "timeline %s%s%s", repo->cluster, pgb_recovery_target_kind_name(t->kind), t->value ? " " : "",
                         t->value ? t->value : "", pgb_recovery_target_timeline_text(t, timeline_text),
                         last_reason ? ": the oldest is unsuitable because " : "", last_reason ? last_reason : "");
}

static void segment_name(uint32_t timeline, uint64_t segno, uint64_t segment_size, char out[32])
{
    char name[PGB_WAL_NAME_SIZE];
    snprintf(out, 32, "%s", pgb_wal_segment_name(timeline, segno, segment_size, name));
}

/* Every segment recovery reads from the archive, in order; the first missing one fails the plan. */
static int check_archive(struct pgb_repo *repo, const struct pgb_wal_archive_index *index,
                         const struct candidate *c, const struct pgb_recovery_target *t, struct pgb_pitr_plan *plan)
{
    const struct pgb_timeline_path *path = &plan->path;
    uint64_t size = c->segment_size;
    size_t first_step = (size_t)(pgb_timeline_path_find(path, c->timeline) - path->steps);
    size_t last_step = path->count - 1;
    if (t->kind == PGB_TARGET_LSN)
        last_step = (size_t)(pgb_timeline_path_at(path, t->lsn) - path->steps);
    /* The backup's own WAL ends with a segment padded past its end: what follows comes from the archive. */
    uint64_t first_needed = c->stop / size;
    for (size_t s = first_step; s <= last_step; s++) {
        const struct pgb_timeline_step *step = &path->steps[s];
        uint64_t lo = step->begin / size > first_needed ? step->begin / size : first_needed, hi;
        if (s < last_step) {
            if (step->end / size == 0 || step->end / size - 1 < lo)
                continue;
            hi = step->end / size - 1;
        } else if (t->kind == PGB_TARGET_LSN) {
            hi = t->lsn / size;
        } else if (!pgb_wal_archive_last(index, step->timeline, &hi) || hi < lo) {
            continue;
        }
        for (uint64_t segno = lo; segno <= hi; segno++) {
            int state = pgb_wal_archive_state(index, step->timeline, segno);
            int very_last = s == last_step && segno == hi;
            char name[32];
            segment_name(step->timeline, segno, size, name);
            if (state == PGB_ARCHIVED_COMPLETE || (state == PGB_ARCHIVED_PARTIAL && very_last)) {
                if (plan->archive_segments++ == 0)
                    snprintf(plan->first, sizeof(plan->first), "%s", name);
                snprintf(plan->last, sizeof(plan->last), "%s", name);
                continue;
            }
            return pgb_error_set(repo->ctx, PGB_ENOTFOUND, "WAL segment %s is %s the archive of cluster %s: "
                                 "recovery from backup %s to %s needs every segment from %s on timeline %u; "
                                 "nothing was written", name, state == PGB_ARCHIVED_PARTIAL ? "only partial in"
                                 : "missing from", repo->cluster, c->id, pgb_recovery_target_kind_name(t->kind),
                                 plan->archive_segments ? plan->first : name, plan->timeline);
        }
    }
    return PGB_OK;
}

static void warn(struct pgb_pitr_plan *plan, const char *text)
{
    json_array_append_new(plan->warnings, json_string(text));
}

/* The time the newest segment read was archived, from its checksum record; 0 when unknown. */
static int64_t archived_at(struct pgb_repo *repo, const char *name)
{
    char key[PGB_KEY_SIZE], sum_key[PGB_KEY_SIZE];
    int kind = 0;
    uint32_t timeline = 0;
    if (pgb_wal_file_classify(NULL, NULL, name, &kind, &timeline) != PGB_OK)
        return 0;
    pgb_wal_archive_key(repo, name, timeline, key);
    pgb_wal_sum_key(key, sum_key);
    struct pgb_wal_sum sum;
    int rc = pgb_wal_sum_read(repo, sum_key, name, &sum);
    if (rc != PGB_OK) {
        char partial[48];
        snprintf(partial, sizeof(partial), "%s.partial", name);
        pgb_wal_archive_key(repo, partial, timeline, key);
        pgb_wal_sum_key(key, sum_key);
        rc = pgb_wal_sum_read(repo, sum_key, partial, &sum);
    }
    pgb_error_clear(repo->ctx);
    return rc == PGB_OK ? (int64_t)sum.archived_at * 1000000 : 0;
}

static void add_warnings(struct pgb_repo *repo, const struct candidate *c, const struct pgb_recovery_target *t,
                         struct pgb_pitr_plan *plan)
{
    char text[512];
    if (t->kind == PGB_TARGET_TIME) {
        int64_t newest = plan->archive_segments ? archived_at(repo, plan->last) : c->stop_time;
        if (newest && t->time > newest) {
            char when[PGB_ISO8601_SIZE];
            pgb_time_iso8601((time_t)(newest / 1000000), when);
            snprintf(text, sizeof(text), "the target time %s is after the newest archived WAL (%s, %s %s): "
                     "PostgreSQL stops with an error if the WAL ends before the target", t->value,
                     plan->archive_segments ? plan->last : "the backup's own", plan->archive_segments ? "archived at"
                     : "ended at", when);
            warn(plan, text);
        }
    } else if (t->kind == PGB_TARGET_XID || t->kind == PGB_TARGET_NAME) {
        snprintf(text, sizeof(text), "where %s %s lies in the WAL is not known before recovery: it must come after "
                 "backup %s ended (%s), or PostgreSQL replays to the end of the archive and stops with an error",
                 t->kind == PGB_TARGET_XID ? "transaction" : "restore point", t->value, c->id,
                 json_string_value(json_object_get(c->record, "stop_lsn")));
        warn(plan, text);
    }
    if (plan->from_archive && plan->path.steps[plan->path.count - 1].timeline != c->timeline) {
        snprintf(text, sizeof(text), "recovery switches from timeline %u to timeline %u", c->timeline,
                 plan->timeline);
        warn(plan, text);
    }
}

int pgb_pitr_plan_make(struct pgb_repo *repo, json_t *records, const char *wanted,
                       const struct pgb_recovery_target *t, struct pgb_pitr_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->warnings = json_array();
    if (!out->warnings)
        return pgb_error_nomem(repo->ctx);
    /* Every backup of a cluster has its segment size: read it from the newest. */
    uint64_t segment_size = 0;
    for (size_t i = json_array_size(records); i > 0 && !segment_size; i--)
        if (is_physical(json_array_get(records, i - 1)))
            segment_size = (uint64_t)json_integer_value(json_object_get(json_array_get(records, i - 1),
                                                                        "wal_segment_size"));
    if (!segment_size)
        return wanted ? pgb_error_set(repo->ctx, PGB_ENOTFOUND, "backup %s not found in cluster %s", wanted,
                                      repo->cluster)
                      : pgb_error_set(repo->ctx, PGB_ENOTFOUND, "cluster %s has no physical backup to restore",
                                      repo->cluster);
    struct pgb_wal_archive_index index;
    int rc = pgb_wal_archive_index_load(repo, segment_size, &index);
    struct candidate c;
    if (rc == PGB_OK)
        rc = choose(repo, records, wanted, t, &index, out, &c);
    if (rc == PGB_OK) {
        out->record = json_incref(c.record);
        out->segment_size = segment_size;
        out->backup_segments = (uint64_t)json_integer_value(json_object_get(json_object_get(c.record, "wal"),
                                                                            "count"));
        if (t->kind != PGB_TARGET_IMMEDIATE)
            rc = check_archive(repo, &index, &c, t, out);
    }
    if (rc == PGB_OK) {
        /* Replaying "latest" with nothing after the backup is the backup alone: no archive recovery to set up. */
        out->from_archive = t->kind != PGB_TARGET_LATEST || out->archive_segments > 0 ||
                            out->timeline != c.timeline;
        add_warnings(repo, &c, t, out);
    }
    pgb_wal_archive_index_clear(&index);
    if (rc != PGB_OK)
        pgb_pitr_plan_clear(out);
    return rc;
}

json_t *pgb_pitr_plan_json(const struct pgb_pitr_plan *plan, const struct pgb_recovery_target *t)
{
    char timeline_text[16], lsn[PGB_LSN_TEXT_SIZE];
    json_t *path = json_array();
    for (size_t i = 0; i < plan->path.count; i++) {
        const struct pgb_timeline_step *s = &plan->path.steps[i];
        json_t *step = json_pack("{s:i, s:s}", "timeline", (int)s->timeline, "begin", pgb_lsn_format(s->begin, lsn));
        json_object_set_new(step, "end", s->end == PGB_TIMELINE_OPEN ? json_null()
                                                                    : json_string(pgb_lsn_format(s->end, lsn)));
        json_array_append_new(path, step);
    }
    json_t *target = json_pack("{s:s, s:s?, s:b, s:s, s:s}", "kind", pgb_recovery_target_kind_name(t->kind), "value",
                               t->value, "inclusive", t->inclusive, "timeline",
                               pgb_recovery_target_timeline_text(t, timeline_text), "action", t->action);
    json_t *archive = json_pack("{s:s?, s:s?, s:I, s:I}", "first", plan->archive_segments ? plan->first : NULL, "last",
                                plan->archive_segments ? plan->last : NULL, "segments",
                                (json_int_t)plan->archive_segments, "bytes",
                                (json_int_t)(plan->archive_segments * plan->segment_size));
    return json_pack("{s:o, s:s, s:i, s:o, s:I, s:o, s:O}", "target", target, "mode",
                     plan->from_archive ? "archive-recovery" : "backup-only", "timeline", (int)plan->timeline,
                     "timeline_path", path, "backup_wal_segments", (json_int_t)plan->backup_segments, "archive_wal",
                     archive, "warnings", plan->warnings);
}

void pgb_pitr_plan_clear(struct pgb_pitr_plan *plan)
{
    json_decref(plan->record);
    json_decref(plan->warnings);
    pgb_timeline_path_clear(&plan->path);
    memset(plan, 0, sizeof(*plan));
}
