#include "strategy/status_render.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; on allocation failure it stays NULL and later appends do nothing. */
struct text {
    char *data;
    size_t len, room;
    int failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->len + (size_t)n + 1 > t->room) {
        size_t room = (t->room ? t->room * 2 : 1024) + (n > 0 ? (size_t)n : 0);
        char *grown = n < 0 ? NULL : realloc(t->data, room);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->room = room;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->room - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static char *finish(struct text *t)
{
    if (t->failed) {
        free(t->data);
        return NULL;
    }
    return t->data ? t->data : calloc(1, 1);
}

static const char *text_of(json_t *object, const char *key)
{
    const char *value = json_string_value(json_object_get(object, key));
    return value ? value : "-";
}

static const char *const kinds[] = {"physical", "logical", "globals"};

char *pgb_status_render_text(json_t *doc)
{
    struct text t = {0};
    put(&t, "cluster %s: %s\n", text_of(doc, "cluster"), text_of(doc, "level"));
    json_t *backups = json_object_get(doc, "backups");
    for (size_t i = 0; i < 3; i++) {
        json_t *kind = json_object_get(backups, kinds[i]);
        if (json_is_object(kind))
            put(&t, "  %-9s %lld backups, newest %s, %lld s old, %lld bytes stored\n", kinds[i],
                (long long)json_integer_value(json_object_get(kind, "count")), text_of(kind, "newest_id"),
                (long long)json_integer_value(json_object_get(kind, "age_seconds")),
                (long long)json_integer_value(json_object_get(kind, "stored_bytes")));
        else
            put(&t, "  %-9s none\n", kinds[i]);
    }
    json_t *archive = json_object_get(doc, "archive");
    put(&t, "  archive   %lld files, newest %s", (long long)json_integer_value(json_object_get(archive, "files")),
        text_of(archive, "newest_segment"));
    if (json_is_integer(json_object_get(archive, "age_seconds")))
        put(&t, ", archived %lld s ago", (long long)json_integer_value(json_object_get(archive, "age_seconds")));
    put(&t, "\n");
    json_t *rpa = json_object_get(doc, "recovery_point_age_seconds");
    if (json_is_integer(rpa))
        put(&t, "  newest recovery point %lld s old\n", (long long)json_integer_value(rpa));
    json_t *last = json_object_get(json_object_get(doc, "drills"), "last");
    if (json_is_object(last))
        put(&t, "  last drill %s: %s, RTO %.1f s\n", text_of(last, "id"),
            json_is_true(json_object_get(last, "passed")) ? "passed" : "failed",
            json_number_value(json_object_get(last, "rto_seconds")));
    else
        put(&t, "  no drill yet\n");
    size_t i;
    json_t *finding;
    json_array_foreach(json_object_get(doc, "findings"), i, finding)
        put(&t, "  %s [%s] %s\n      fix: %s\n", text_of(finding, "severity"), text_of(finding, "code"),
            text_of(finding, "message"), text_of(finding, "fix"));
    return finish(&t);
}

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static void put_label(struct text *t, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            put(t, "\\%c", *p);
        else if (*p == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *p);
    }
}

static void metric_header(struct text *t, const char *name, const char *help)
{
    put(t, "# HELP pgbackup_%s %s\n# TYPE pgbackup_%s gauge\n", name, help, name);
}

static void sample(struct text *t, const char *name, const char *cluster, const char *label, const char *value_of_label,
                   double value)
{
    put(t, "pgbackup_%s{cluster=\"", name);
    put_label(t, cluster);
    if (label) {
        put(t, "\",%s=\"", label);
        put_label(t, value_of_label);
    }
    put(t, "\"} %.17g\n", value);
}

/* One gauge without extra labels, written only when the value is known. */
static void gauge(struct text *t, const char *name, const char *help, const char *cluster, json_t *value)
{
    if (!json_is_number(value) && !json_is_boolean(value))
        return;
    metric_header(t, name, help);
    sample(t, name, cluster, NULL, NULL, json_is_boolean(value) ? json_is_true(value) : json_number_value(value));
}

char *pgb_status_render_prometheus(json_t *doc)
{
    struct text t = {0};
    const char *cluster = text_of(doc, "cluster");
    static const char *const levels[] = {"ok", "warning", "critical", "unknown"};
    int level = 3;
    for (int i = 0; i < 4; i++)
        if (strcmp(text_of(doc, "level"), levels[i]) == 0)
            level = i;
    metric_header(&t, "status_level", "0 ok, 1 warning, 2 critical (a finding at error level), 3 unknown");
    sample(&t, "status_level", cluster, NULL, NULL, level);
    json_t *backups = json_object_get(doc, "backups");
    static const struct {
        const char *metric, *field, *help;
    } per_kind[] = {{"backups", "count", "backups in the repository, by kind"},
                    {"backup_age_seconds", "age_seconds", "age of the newest backup, by kind"},
                    {"backup_stored_bytes", "stored_bytes", "bytes the newest backup added to the repository"},
                    {"backup_database_bytes", "database_bytes", "size of what the newest backup holds"}};
    for (size_t m = 0; m < sizeof(per_kind) / sizeof(per_kind[0]); m++) {
        metric_header(&t, per_kind[m].metric, per_kind[m].help);
        for (size_t k = 0; k < 3; k++) {
            json_t *kind = json_object_get(backups, kinds[k]);
            json_t *value = json_object_get(kind, per_kind[m].field);
            if (m == 0 || json_is_number(value))
                sample(&t, per_kind[m].metric, cluster, "kind", kinds[k], json_number_value(value));
        }
    }
    json_t *archive = json_object_get(doc, "archive");
    gauge(&t, "archive_files", "files in the WAL archive", cluster, json_object_get(archive, "files"));
    gauge(&t, "archive_newest_age_seconds", "seconds since the newest archived segment was stored", cluster,
          json_object_get(archive, "age_seconds"));
    gauge(&t, "recovery_point_age_seconds", "age of the newest point the cluster can be recovered to", cluster,
          json_object_get(doc, "recovery_point_age_seconds"));
    json_t *goals = json_object_get(doc, "goals");
    gauge(&t, "rpo_seconds", "the recovery point objective", cluster, json_object_get(goals, "rpo_seconds"));
    gauge(&t, "rto_seconds", "the recovery time objective", cluster, json_object_get(goals, "rto_seconds"));
    json_t *drills = json_object_get(doc, "drills"), *last = json_object_get(drills, "last");
    gauge(&t, "drills", "restore drills recorded", cluster, json_object_get(drills, "count"));
    gauge(&t, "drill_last_passed", "1 when the last drill passed", cluster, json_object_get(last, "passed"));
    gauge(&t, "drill_last_rto_seconds", "the RTO the last drill measured", cluster,
          json_object_get(last, "rto_seconds"));
    gauge(&t, "drill_last_age_seconds", "seconds since the last drill finished", cluster,
          json_object_get(last, "age_seconds"));
    json_t *server = json_object_get(doc, "server");
    gauge(&t, "archiver_failures", "pg_stat_archiver.failed_count", cluster, json_object_get(server, "failed_count"));
    gauge(&t, "archiver_ready_files", "WAL files waiting for archive_command", cluster,
          json_object_get(server, "ready_count"));
    gauge(&t, "archiver_seconds_since_last_archived", "seconds since the server last archived a file", cluster,
          json_object_get(server, "seconds_since_last_archived"));
    int errors = 0, warnings = 0;
    size_t i;
    json_t *finding;
    json_array_foreach(json_object_get(doc, "findings"), i, finding) {
        if (strcmp(text_of(finding, "severity"), "error") == 0)
            errors++;
        else
            warnings++;
    }
    metric_header(&t, "findings", "the advisor's findings, by severity");
    sample(&t, "findings", cluster, "severity", "error", errors);
    sample(&t, "findings", cluster, "severity", "warning", warnings);
    return finish(&t);
}

/* Nagios performance data: 'label'=value[UOM];warn;crit */
static void perf(struct text *t, const char *label, json_t *value, const char *unit, json_t *critical)
{
    if (!json_is_number(value))
        return;
    put(t, " %s=%.0f%s;;", label, json_number_value(value), unit);
    if (json_is_number(critical))
        put(t, "%.0f", json_number_value(critical));
}

char *pgb_status_render_nagios(json_t *doc)
{
    struct text t = {0};
    const char *level = text_of(doc, "level");
    static const struct {
        const char *level, *word;
    } words[] = {{"ok", "OK"}, {"warning", "WARNING"}, {"critical", "CRITICAL"}, {"unknown", "UNKNOWN"}};
    const char *word = "UNKNOWN";
    for (size_t i = 0; i < 4; i++)
        if (strcmp(level, words[i].level) == 0)
            word = words[i].word;
    put(&t, "PGBACKUP %s - cluster %s", word, text_of(doc, "cluster"));
    json_t *findings = json_object_get(doc, "findings");
    if (json_array_size(findings) == 0)
        put(&t, ": goals met, no findings");
    size_t i;
    json_t *finding;
    json_array_foreach(findings, i, finding) {
        const char *message = text_of(finding, "message");
        put(&t, "%s %s: ", i ? ";" : ":", text_of(finding, "code"));
        for (const char *p = message; *p; p++)
            put(&t, "%c", *p == '|' ? '/' : *p); /* '|' starts the performance data */
    }
    put(&t, " |");
    json_t *goals = json_object_get(doc, "goals");
    perf(&t, "recovery_point_age", json_object_get(doc, "recovery_point_age_seconds"), "s",
         json_object_get(goals, "rpo_seconds"));
    json_t *backups = json_object_get(doc, "backups");
    for (size_t k = 0; k < 3; k++) {
        char label[64];
        snprintf(label, sizeof(label), "%s_backup_age", kinds[k]);
        perf(&t, label, json_object_get(json_object_get(backups, kinds[k]), "age_seconds"), "s", NULL);
    }
    perf(&t, "drill_rto", json_object_get(json_object_get(json_object_get(doc, "drills"), "last"), "rto_seconds"), "s",
         json_object_get(goals, "rto_seconds"));
    put(&t, "\n");
    return finish(&t);
}
