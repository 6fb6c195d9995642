/*
 * pgbackup restore --to DIR [--backup ID] [--target-time T | --target-lsn L |
 * --target-xid X | --target-name N | --target immediate|latest]
 * [--target-timeline latest|current|N] [--target-action pause|promote|shutdown]
 * [--archive-mode preserve|off] [--delta] [--tablespace-map OLD=NEW]
 * [--config-to DIR] [--dry-run]: a physical restore, planned and checked
 * first; recovery to the target through restore_command = 'pgbackup wal-fetch'.
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

/* restore_command runs this very program unless --program says otherwise. */
static void default_program(struct cli *cli)
{
    const char *program = NULL;
    pgb_options_get(cli->opts, "program", &program);
    char self[PATH_MAX];
    ssize_t n = program ? -1 : readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        pgb_options_set(cli->opts, "program", self);
    }
}

static const char *text_of(json_t *doc, const char *key)
{
    const char *value = json_string_value(json_object_get(doc, key));
    return value ? value : "-";
}

/* The plan for people: backup, target, WAL to replay, size and time. */
static void print_plan(const char *json)
{
    json_t *plan = json_loads(json, 0, NULL);
    json_t *recovery = json_object_get(plan, "recovery");
    json_t *target = json_object_get(recovery, "target");
    json_t *archive = json_object_get(recovery, "archive_wal");
    printf("restore plan\n");
    printf("  backup:          %s (stop LSN %s)\n", text_of(plan, "backup"), text_of(plan, "stop_lsn"));
    printf("  into:            %s\n", text_of(plan, "target"));
    printf("  files:           %lld, %lld bytes\n", (long long)json_integer_value(json_object_get(plan, "files")),
           (long long)json_integer_value(json_object_get(plan, "bytes")));
    printf("  recovery:        %s, target %s%s%s, timeline %s (ends on %lld), then %s\n", text_of(recovery, "mode"),
           text_of(target, "kind"), json_is_string(json_object_get(target, "value")) ? " " : "",
           json_is_string(json_object_get(target, "value")) ? text_of(target, "value") : "",
           text_of(target, "timeline"), (long long)json_integer_value(json_object_get(recovery, "timeline")),
           text_of(target, "action"));
    printf("  WAL:             %lld segments with the backup, %lld from the archive",
           (long long)json_integer_value(json_object_get(recovery, "backup_wal_segments")),
           (long long)json_integer_value(json_object_get(archive, "segments")));
    if (json_integer_value(json_object_get(archive, "segments")) > 0)
        printf(" (%s to %s, %lld bytes)", text_of(archive, "first"), text_of(archive, "last"),
               (long long)json_integer_value(json_object_get(archive, "bytes")));
    printf("\n  archive_mode:    %s\n", text_of(plan, "archive_mode"));
    printf("  estimated time:  %lld s\n", (long long)json_integer_value(json_object_get(plan, "estimated_seconds")));
    size_t i;
    json_t *warning;
    json_array_foreach(json_object_get(recovery, "warnings"), i, warning)
        printf("  warning:         %s\n", json_string_value(warning));
    json_decref(plan);
}

int cmd_restore(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *type = NULL, *to = NULL;
    pgb_options_get(cli->opts, "type", &type);
    pgb_options_get(cli->opts, "to", &to);
    /* "type" is checked against physical|logical|globals: logical and globals restores have their own file. */
    if (type && (type[0] == 'l' || type[0] == 'g'))
        return cmd_restore_logical(cli);
    if (type && *type && type[0] != 'p') {
        fprintf(stderr, "pgbackup: restore --type %s is not available in this version (physical is)\n", type);
        return CLI_FAILED;
    }
    if (!to) {
        fprintf(stderr, "pgbackup: restore needs --to DIR (an empty or absent folder)\n");
        return CLI_USAGE;
    }
    default_program(cli);
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    int dry_run = 0;
    pgb_options_get_bool(cli->opts, "dry-run", &dry_run);
    pgb_restore_plan *plan = NULL;
    int rc = pgb_restore_plan_new(&plan, repo, cli->opts);
    if (rc == PGB_OK && dry_run == 1) {
        if (cli->json)
            printf("%s\n", pgb_restore_plan_to_json(plan));
        else
            print_plan(pgb_restore_plan_to_json(plan));
    } else if (rc == PGB_OK) {
        rc = pgb_restore_plan_execute(plan);
        if (rc == PGB_OK && cli->json)
            printf("%s\n", pgb_restore_plan_to_json(plan));
        else if (rc == PGB_OK)
            printf("restored backup %s into %s\n", pgb_restore_plan_backup_id(plan), to);
    }
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = rc == PGB_EINVALID ? CLI_USAGE : cli_exit_code(rc);
    }
    pgb_restore_plan_free(plan);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
