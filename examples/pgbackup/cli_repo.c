/*
 * What several commands share: opening the repository the options name.
 */
#include <stdio.h>

#include "cli.h"

int cli_no_arguments(struct cli *cli)
{
    if (cli->arg_count == 0)
        return CLI_OK;
    fprintf(stderr, "pgbackup: %s takes no arguments (found '%s')\n", cli->command, cli->args[0]);
    return CLI_USAGE;
}

int cli_open_repo(struct cli *cli, pgb_storage **storage, pgb_repo **repo)
{
    const char *url = NULL;
    pgb_options_get(cli->opts, "repo", &url);
    *storage = NULL;
    *repo = NULL;
    if (!url) {
        fprintf(stderr, "pgbackup: %s needs --repo URL (or PGBACKUP_REPO, or repo in the config file)\n",
                cli->command);
        return CLI_USAGE;
    }
    int rc = pgb_storage_open(storage, cli->ctx, url, cli->opts);
    if (rc == PGB_OK)
        rc = pgb_repo_open(repo, *storage, cli->opts);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        pgb_storage_free(*storage);
        *storage = NULL;
        return cli_exit_code(rc) == CLI_USAGE ? CLI_FAILED : cli_exit_code(rc);
    }
    return CLI_OK;
}
