/*
 * pgbackup restore --type logical --backup ID --db NAME [--table SCHEMA.TABLE ...]
 * [--schema NAME ...] [--clean] [--create] [--target-db NAME] [--jobs N]
 * [--no-analyze] [--dry-run]: a whole or selective logical restore into a
 * database of the server --pg reaches; and restore --type globals --backup ID:
 * replay roles and tablespaces. cmd_restore dispatches here.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char *text_of(json_t *doc, const char *key)
{
    const char *value = json_string_value(json_object_get(doc, key));
    return value ? value : "-";
}

static void print_names(const char *label, json_t *names)
{
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name) printf("  %-11s %s\n", i == 0 ? label : "", json_string_value(name));
}

static void print_plan(const char *json, int done)
{
    json_t *plan = json_loads(json, 0, NULL);
    if (strcmp(text_of(plan, "type"), "globals") == 0) {
        if (!done)
            printf("globals restore plan\n  backup:     %s\n", text_of(plan, "backup"));
        else
            printf("replayed %lld statements of the globals of backup %s\n",
                   (long long)json_integer_value(json_object_get(plan, "statements")), text_of(plan, "backup"));
        print_names("existed:", json_object_get(plan, "roles_existing"));
        json_decref(plan);
        return;
    }
    int create = json_is_true(json_object_get(plan, "create")), clean = json_is_true(json_object_get(plan, "clean"));
    if (done) {
        printf("restored database %s of backup %s into %s (%lld of %lld entries, %.1f s)\n", text_of(plan, "database"),
               text_of(plan, "backup"), text_of(plan, "target_db"),
               (long long)json_integer_value(json_object_get(plan, "entries")),
               (long long)json_integer_value(json_object_get(plan, "entries_total")),
               json_real_value(json_object_get(plan, "seconds")));
    } else {
        printf("logical restore plan\n");
        printf("  backup:     %s\n", text_of(plan, "backup"));
        printf("  database:   %s into %s%s%s\n", text_of(plan, "database"), text_of(plan, "target_db"),
               create ? ", created" : "", clean ? (create ? " after dropping it" : ", objects replaced") : "");
        printf("  mode:       %s, %lld of %lld entries, %s, jobs %lld, %s\n", text_of(plan, "mode"),
               (long long)json_integer_value(json_object_get(plan, "entries")),
               (long long)json_integer_value(json_object_get(plan, "entries_total")), text_of(plan, "input"),
               (long long)json_integer_value(json_object_get(plan, "jobs")),
               json_is_true(json_object_get(plan, "analyze")) ? "then ANALYZE" : "no ANALYZE");
        print_names("restores:", json_object_get(plan, "objects"));
    }
    size_t i;
    json_t *skipped;
    json_array_foreach(json_object_get(plan, "skipped"), i, skipped)
        printf("  %-11s %s: %s\n", i == 0 ? "left alone:" : "", text_of(skipped, "object"),
               text_of(skipped, "reason"));
    json_decref(plan);
}

int cmd_restore_logical(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    int dry_run = 0;
    pgb_options_get_bool(cli->opts, "dry-run", &dry_run);
    pgb_logical_restore *plan = NULL;
    int rc = pgb_logical_restore_new(&plan, repo, cli->opts);
    if (rc == PGB_OK && dry_run != 1)
        rc = pgb_logical_restore_execute(plan);
    if (rc == PGB_OK && cli->json)
        printf("%s\n", pgb_logical_restore_to_json(plan));
    else if (rc == PGB_OK)
        print_plan(pgb_logical_restore_to_json(plan), dry_run != 1);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    }
    pgb_logical_restore_free(plan);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
