#include "strategy/retention.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/duration.h"

/* Seconds since the epoch at which a record's backup ended; -1 when it has no stop_time. */
static int64_t stop_time(json_t *record)
{
    int64_t micros = 0;
    const char *text = json_string_value(json_object_get(record, "stop_time"));
    return text && pgb_time_parse_iso8601(text, &micros) == 0 ? micros / 1000000 : -1;
}

static int is_kind(json_t *record, const char *kind)
{
    const char *type = json_string_value(json_object_get(record, "type"));
    return type && strcmp(type, kind) == 0;
}

static int is_incremental(json_t *record)
{
    return json_is_true(json_object_get(record, "incremental"));
}

static void keep(json_t *decision, const char *reason)
{
    json_object_set_new(decision, "keep", json_true());
    json_array_append_new(json_object_get(decision, "reasons"), json_string(reason));
}

static void decide_kind(json_t *records, json_t *decisions, const char *kind, const struct pgb_retention *r,
                        int64_t now)
{
    char text[128], a[32];
    size_t n = json_array_size(records);
    int64_t fulls_seen = 0, oldest_kept_full = -1;
    /* Newest first: the newest, keep-full and keep-age. */
    for (size_t i = n; i > 0; i--) {
        json_t *record = json_array_get(records, i - 1), *d = json_array_get(decisions, i - 1);
        if (!is_kind(record, kind))
            continue;
        int64_t ended = stop_time(record);
        int full = !is_incremental(record);
        if (fulls_seen == 0 && full)
            keep(d, "the newest full backup of its kind");
        if (full && r->keep_full >= 0 && fulls_seen < r->keep_full) {
            snprintf(text, sizeof(text), "one of the %lld newest full backups (keep-full)", (long long)r->keep_full);
            keep(d, text);
            oldest_kept_full = ended;
        }
        if (r->keep_age >= 0 && ended >= 0 && now - ended <= r->keep_age) {
            snprintf(text, sizeof(text), "younger than %s (keep-age)", pgb_duration_format(r->keep_age, a));
            keep(d, text);
        }
        fulls_seen += full;
    }
    /* Point-in-time recovery into the window starts from the newest backup that ended at or before its start. */
    int64_t window_start = r->pitr_window >= 0 ? now - r->pitr_window : -1;
    int base_found = 0;
    for (size_t i = n; r->pitr_window >= 0 && strcmp(kind, "physical") == 0 && i > 0; i--) {
        json_t *record = json_array_get(records, i - 1), *d = json_array_get(decisions, i - 1);
        if (!is_kind(record, kind) || base_found)
            continue;
        int64_t ended = stop_time(record);
        snprintf(text, sizeof(text), "needed for point-in-time recovery within %s (pitr-window)",
                 pgb_duration_format(r->pitr_window, a));
        keep(d, text);
        base_found = ended >= 0 && ended <= window_start;
    }
    /* keep-full keeps a full backup with the incrementals that followed it (as pgBackRest's retention-full). */
    for (size_t i = 0; i < n; i++) {
        json_t *record = json_array_get(records, i), *d = json_array_get(decisions, i);
        if (is_kind(record, kind) && is_incremental(record) && oldest_kept_full >= 0 &&
            stop_time(record) >= oldest_kept_full && !json_is_true(json_object_get(d, "keep")))
            keep(d, "an incremental after a full backup kept by keep-full");
    }
}

json_t *pgb_retention_decide(json_t *records, const struct pgb_retention *r, int64_t now)
{
    json_t *decisions = json_array();
    int unset = r->keep_full < 0 && r->keep_age < 0 && r->pitr_window < 0;
    for (size_t i = 0; decisions && i < json_array_size(records); i++) {
        json_t *record = json_array_get(records, i);
        json_t *d = json_pack("{s:O, s:O, s:b, s:[]}", "id", json_object_get(record, "id"), "type",
                              json_object_get(record, "type"), "keep", unset, "reasons");
        if (unset)
            json_array_append_new(json_object_get(d, "reasons"), json_string("no retention is set: all is kept"));
        json_array_append_new(decisions, d);
    }
    static const char *const kinds[] = {"physical", "logical", "globals"};
    for (size_t k = 0; decisions && !unset && k < 3; k++)
        decide_kind(records, decisions, kinds[k], r, now);
    size_t i;
    json_t *d;
    json_array_foreach(decisions, i, d) if (!json_is_true(json_object_get(d, "keep")))
        json_array_append_new(json_object_get(d, "reasons"), json_string("beyond the retention of the policy"));
    return decisions;
}
