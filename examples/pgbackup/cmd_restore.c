/*
 * pgbackup restore --to DIR [--backup ID] [--delta] [--tablespace-map OLD=NEW]
 * [--config-to DIR] [--dry-run]: a physical restore, planned and checked first.
 */
#include <stdio.h>

#include "cli.h"

int cmd_restore(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *type = NULL, *to = NULL;
    pgb_options_get(cli->opts, "type", &type);
    pgb_options_get(cli->opts, "to", &to);
    if (type && *type && type[0] != 'p') {
        fprintf(stderr, "pgbackup: restore --type %s is not available in this version (physical is)\n", type);
        return CLI_FAILED;
    }
    if (!to) {
        fprintf(stderr, "pgbackup: restore needs --to DIR (an empty or absent folder)\n");
        return CLI_USAGE;
    }
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
        printf("%s\n", pgb_restore_plan_to_json(plan));
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
