/*
 * The recovery runbook: Markdown from the facts of a cluster (facts.c), with
 * commands that name the repository the way the caller does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/runbook.h>
#include <pgbackup/storage.h>
#include <pgbackup/version.h>

#include "core/clock.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/text.h"
#include "pipeline/object.h"
#include "repo/repo.h"
#include "strategy/advisor.h"
#include "strategy/facts.h"

struct doc {
    char *text;
    int failed;
};

__attribute__((format(printf, 2, 3))) static void md(struct doc *d, const char *fmt, ...)
{
    if (d->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *line = pgb_text_vprintf(fmt, ap);
    va_end(ap);
    char *grown = line ? pgb_text_printf("%s%s", d->text ? d->text : "", line) : NULL;
    free(line);
    free(d->text);
    d->text = grown;
    d->failed = !grown;
}

static const char *text_of(json_t *object, const char *key, const char *otherwise)
{
    const char *value = json_string_value(json_object_get(object, key));
    return value ? value : otherwise;
}

/* "pgbackup --config FILE" or "pgbackup --repo URL --cluster C --identity KEY", as the caller names it. */
static char *command_prefix(struct pgb_repo *repo, const pgb_options *opts)
{
    const char *config = NULL, *identity = NULL, *passphrase = NULL;
    if (opts) {
        pgb_options_get(opts, "config", &config);
        pgb_options_get(opts, "identity", &identity);
        pgb_options_get(opts, "passphrase-file", &passphrase);
    }
    if (config)
        return pgb_text_printf("pgbackup --config %s", config);
    const char *key = strcmp(repo->encryption, "none") == 0 ? ""
                      : identity                                 ? identity
                      : passphrase                               ? passphrase
                      : strstr(repo->encryption, "recipients")   ? "/path/to/restore.key"
                                                                 : "/path/to/passphrase";
    const char *flag = !*key ? "" : (identity || (!passphrase && strstr(repo->encryption, "recipients")))
                                        ? " --identity "
                                        : " --passphrase-file ";
    return pgb_text_printf("pgbackup --repo %s --cluster %s%s%s", pgb_storage_name(repo->storage), repo->cluster,
                           flag, key);
}

static void section_storage(struct doc *d, struct pgb_repo *repo, const struct pgb_strategy_facts *f)
{
    md(d, "## Where the backups are\n\n");
    md(d, "- Repository: `%s`, cluster `%s`.\n", pgb_storage_name(repo->storage), f->cluster);
    if (strcmp(f->encryption, "none") == 0)
        md(d, "- Encryption: none. Anyone who can read the repository can read the data.\n");
    else if (strstr(f->encryption, "recipients"))
        md(d, "- Encryption: `%s`. Restores, verification and drills need a recipient's private key (`--identity`); "
              "the database host holds only its writer key and cannot read what it wrote.\n", f->encryption);
    else
        md(d, "- Encryption: `%s`. Every command that reads or writes needs the passphrase file "
              "(`--passphrase-file`); keep a copy where the on-call engineer can reach it without this host.\n",
           f->encryption);
    md(d, "- WAL archive: %llu files", (unsigned long long)f->archived_files);
    if (f->newest_segment[0])
        md(d, ", newest segment `%s`", f->newest_segment);
    md(d, ".\n\n");
}

static void section_goals(struct doc *d, const struct pgb_strategy_facts *f)
{
    char a[32], b[32];
    int64_t rpo = pgb_policy_get(f->policy, "rpo"), rto = pgb_policy_get(f->policy, "rto");
    int64_t full = pgb_policy_get(f->policy, "keep-full"), age = pgb_policy_get(f->policy, "keep-age");
    int64_t window = pgb_policy_get(f->policy, "pitr-window");
    md(d, "## Goals and retention\n\n");
    md(d, "- RPO: %s; RTO: %s.\n", rpo >= 0 ? pgb_duration_format(rpo, a) : "not set",
       rto >= 0 ? pgb_duration_format(rto, b) : "not set");
    char count[32];
    snprintf(count, sizeof(count), "%lld", (long long)full);
    md(d, "- Retention: %s full backups, %s%s, point-in-time window %s.\n", full >= 0 ? count : "all",
       age >= 0 ? "kept for " : "no age limit", age >= 0 ? pgb_duration_format(age, a) : "",
       window >= 0 ? pgb_duration_format(window, b) : "not set");
    static const char *const paths[] = {"full-cluster", "pitr", "full-logical", "selective", "globals"};
    md(d, "- Restore paths that must work:");
    int any = 0;
    for (size_t i = 0; i < 5; i++)
        if (pgb_policy_requires(f->policy, paths[i])) {
            md(d, " %s", paths[i]);
            any = 1;
        }
    md(d, "%s\n\n", any ? "." : " not set.");
}

static void section_backups(struct doc *d, const struct pgb_strategy_facts *f)
{
    md(d, "## Backups\n\n| id | type | ended | database bytes | stored bytes |\n|---|---|---|---|---|\n");
    size_t n = json_array_size(f->backups), first = n > 10 ? n - 10 : 0;
    for (size_t i = first; i < n; i++) {
        json_t *r = json_array_get(f->backups, i);
        md(d, "| `%s` | %s | %s | %lld | %lld |\n", text_of(r, "id", "?"), text_of(r, "type", "?"),
           text_of(r, "stop_time", "-"), (long long)json_integer_value(json_object_get(r, "database_size")),
           (long long)json_integer_value(json_object_get(r, "stored_size")));
    }
    if (n == 0)
        md(d, "| (none) | | | | |\n");
    md(d, "\n%s\n", n > 10 ? "The ten newest are shown; `pgbackup list` shows all.\n" : "");
}

static void section_restores(struct doc *d, const struct pgb_strategy_facts *f, const char *pgb)
{
    json_t *physical = pgb_strategy_newest_backup(f, "physical");
    json_t *logical = pgb_strategy_newest_backup(f, "logical");
    json_t *globals = pgb_strategy_newest_backup(f, "globals");
    md(d, "## Restore paths\n\nEvery restore is planned and checked before it writes: add `--dry-run` first "
          "to see the plan. Restores never write into a non-empty folder or over a running server.\n\n");
    md(d, "### Full cluster (physical)\n\n");
    if (physical)
        md(d, "```sh\n%s restore --to /srv/pg/restored --backup %s --target immediate --target-action promote\n"
              "pg_ctl -D /srv/pg/restored start\n```\n\n",
           pgb, text_of(physical, "id", "?"));
    else
        md(d, "No physical backup yet: `%s backup --type physical`.\n\n", pgb);
    md(d, "### Point in time\n\n");
    if (physical)
        md(d, "```sh\n%s restore --to /srv/pg/pitr --target-time '2026-11-24T10:14:00+00:00' --dry-run\n"
              "%s restore --to /srv/pg/pitr --target-time '2026-11-24T10:14:00+00:00' --target-action promote "
              "--archive-mode off\npg_ctl -D /srv/pg/pitr start\n```\n\nOther targets: `--target-lsn`, "
              "`--target-xid`, `--target-name`; without a target the whole archive is replayed. The restored "
              "server reads WAL through `restore_command = 'pgbackup wal-fetch'`.\n\n",
           pgb, pgb);
    else
        md(d, "Needs a physical backup and WAL archiving (`archive_command = '%s wal-push %%p'`).\n\n", pgb);
    md(d, "### Full logical (one database)\n\n");
    if (logical)
        md(d, "```sh\n%s restore --type logical --backup %s --db DBNAME --target-db DBNAME_restored --create\n```\n\n",
           pgb, text_of(logical, "id", "?"));
    else
        md(d, "No logical backup yet: `%s backup --type logical`.\n\n", pgb);
    md(d, "### Selective (tables or schemas)\n\n");
    if (logical)
        md(d, "```sh\n%s restore --type logical --backup %s --db DBNAME --table SCHEMA.TABLE\n```\n\nA table comes "
              "back with its indexes, constraints, sequences, triggers, grants and comments.\n\n",
           pgb, text_of(logical, "id", "?"));
    else
        md(d, "Needs a logical backup.\n\n");
    md(d, "### Globals (roles, memberships, tablespaces)\n\n");
    if (globals)
        md(d, "```sh\n%s restore --type globals --backup %s\n```\n\n", pgb, text_of(globals, "id", "?"));
    else
        md(d, "No globals backup yet: `%s backup --type globals`.\n\n", pgb);
    md(d, "## Verifying success\n\n- Before restoring: `%s verify --all` checks every backup and the WAL it needs "
          "inside the repository.\n- After a physical restore: the server starts, `SELECT pg_is_in_recovery()` "
          "is `f` once promoted, and `pg_verifybackup` or `%s verify-dir DIR` accepts the restored folder before "
          "it starts.\n- Compare what the applications need: row counts of the key tables, the newest "
          "transaction time (`SELECT max(...)`).\n- A drill does all of this on a scratch server: `%s drill "
          "--probe 'SELECT count(*) FROM important_table'`.\n\n",
       pgb, pgb, pgb);
}

static void section_drills(struct doc *d, const struct pgb_strategy_facts *f)
{
    md(d, "## Drill history\n\n| drill | backup | passed | RTO (s) | reached |\n|---|---|---|---|---|\n");
    size_t n = json_array_size(f->drills), first = n > 10 ? n - 10 : 0;
    for (size_t i = first; i < n; i++) {
        json_t *r = json_array_get(f->drills, i);
        json_t *rto = json_object_get(r, "rto_seconds"), *reached = json_object_get(r, "reached");
        md(d, "| `%s` | `%s` | %s | %s%.1f | %s |\n", text_of(r, "id", "?"), text_of(r, "backup", "-"),
           json_is_true(json_object_get(r, "passed")) ? "yes" : "**no**", json_is_number(rto) ? "" : "- ",
           json_is_number(rto) ? json_number_value(rto) : 0.0, text_of(reached, "time", text_of(reached, "lsn", "-")));
    }
    if (n == 0)
        md(d, "| (none: no restore was ever tested) | | | | |\n");
    md(d, "\n");
}

static void section_findings(struct doc *d, const struct pgb_strategy_facts *f)
{
    json_t *findings = pgb_advisor_findings(f);
    md(d, "## Open findings\n\n");
    size_t i;
    json_t *x;
    json_array_foreach(findings, i, x) md(d, "- **%s** `%s`: %s. Fix: %s.\n", text_of(x, "severity", "?"),
                                          text_of(x, "code", "?"), text_of(x, "message", ""), text_of(x, "fix", ""));
    if (json_array_size(findings) == 0)
        md(d, "None: the goals are met.\n");
    json_decref(findings);
}

static int store_marker(struct pgb_repo *repo, const char *generated_at)
{
    json_t *doc = json_pack("{s:i, s:s}", "format_version", 1, "generated_at", generated_at);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    char key[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, PGB_RUNBOOK_MARKER, key);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, 0, &spec);
    int rc = pgb_object_put(repo->storage, key, &repo->keys, &spec, text, strlen(text), NULL);
    free(text);
    return rc;
}

int pgb_runbook_generate(pgb_repo *repo, const pgb_options *opts, char **markdown)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (!markdown)
        return pgb_error_set(repo->ctx, PGB_EINVALID, "pgb_runbook_generate: markdown is NULL");
    *markdown = NULL;
    struct pgb_strategy_facts facts;
    int rc = pgb_strategy_facts_collect(repo, NULL, &facts);
    if (rc != PGB_OK)
        return rc;
    char now[PGB_ISO8601_SIZE];
    pgb_time_iso8601((time_t)facts.now, now);
    /* The runbook is generated now: its own finding must not appear in it. */
    facts.runbook_at = facts.now;
    char *pgb = command_prefix(repo, opts);
    struct doc d = {NULL, !pgb};
    md(&d, "# Recovery runbook: cluster %s\n\nGenerated %s by pgbackup %s from the repository. Regenerate it "
           "after every change of policy, keys or storage: `%s runbook --output RUNBOOK.md`.\n\n",
       facts.cluster, now, pgb_version_string(), pgb ? pgb : "pgbackup");
    section_storage(&d, repo, &facts);
    section_goals(&d, &facts);
    section_backups(&d, &facts);
    section_restores(&d, &facts, pgb ? pgb : "pgbackup");
    section_drills(&d, &facts);
    section_findings(&d, &facts);
    free(pgb);
    pgb_strategy_facts_clear(&facts);
    if (d.failed) {
        free(d.text);
        return pgb_error_nomem(repo->ctx);
    }
    rc = store_marker(repo, now);
    if (rc != PGB_OK) {
        free(d.text);
        return rc;
    }
    *markdown = d.text;
    return PGB_OK;
}
