/*
 * pgbackup expire [--dry-run] [--as-of TIME] [--json]: apply the policy's
 * retention; never removes what a kept backup or the PITR window needs. A dry
 * run lists exactly what would go and why.
 */
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

static void print_report(const char *json)
{
    json_t *doc = json_loads(json, 0, NULL);
    int dry = json_is_true(json_object_get(doc, "dry_run"));
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(doc, "backups"), i, b) {
        json_t *reasons = json_object_get(b, "reasons");
        printf("%-8s %-30s %-9s %s\n",
               json_is_true(json_object_get(b, "keep")) ? "keep" : dry ? "would go" : "removed",
               json_string_value(json_object_get(b, "id")), json_string_value(json_object_get(b, "type")) ?: "?",
               json_string_value(json_array_get(reasons, 0)) ?: "");
    }
    json_t *wal = json_object_get(doc, "wal"), *packs = json_object_get(doc, "packs");
    printf("WAL: %s %lld files (%lld bytes)%s%s%s%s\n", dry ? "would remove" : "removed",
           (long long)json_integer_value(json_object_get(wal, "removed")),
           (long long)json_integer_value(json_object_get(wal, "bytes")),
           json_is_string(json_object_get(wal, "first")) ? ", " : "",
           json_string_value(json_object_get(wal, "first")) ?: "",
           json_is_string(json_object_get(wal, "last")) ? " to " : "",
           json_string_value(json_object_get(wal, "last")) ?: "");
    printf("packs: %s %lld (%lld bytes), %lld kept\n", dry ? "would remove" : "removed",
           (long long)json_integer_value(json_object_get(packs, "removed")),
           (long long)json_integer_value(json_object_get(packs, "bytes")),
           (long long)json_integer_value(json_object_get(packs, "kept")));
    json_decref(doc);
}

int cmd_expire(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    char *report = NULL;
    int rc = pgb_expire(repo, cli->opts, &report);
    if (rc == PGB_OK && cli->json)
        printf("%s\n", report);
    else if (rc == PGB_OK)
        print_report(report);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    }
    pgb_free(report);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
