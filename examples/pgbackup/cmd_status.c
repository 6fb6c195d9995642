/*
 * pgbackup status [--format text|json|prometheus|nagios] [--pg CONNINFO]:
 * health for monitoring. With --format nagios the exit code follows the
 * plugin conventions (0 ok, 1 warning, 2 critical, 3 unknown); otherwise 0
 * whenever the status could be collected.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_status(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *format = NULL;
    pgb_options_get(cli->opts, "format", &format);
    if (!format)
        format = cli->json ? "json" : "text";
    int nagios = strcmp(format, "nagios") == 0;
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "prometheus") != 0 && !nagios) {
        fprintf(stderr, "pgbackup: status --format %s: expected text, json, prometheus or nagios\n", format);
        return nagios ? PGB_HEALTH_UNKNOWN : CLI_USAGE;
    }
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK) {
        if (nagios)
            printf("PGBACKUP UNKNOWN - the repository cannot be read\n");
        return nagios ? PGB_HEALTH_UNKNOWN : code;
    }
    pgb_cluster_status *status = NULL;
    int rc = pgb_cluster_status_new(&status, repo, cli->opts);
    if (rc == PGB_OK) {
        const char *text = pgb_cluster_status_render(status, format);
        fputs(text ? text : "", stdout);
        if (strcmp(format, "json") == 0)
            fputc('\n', stdout);
        code = nagios ? pgb_cluster_status_level(status) : CLI_OK;
    } else {
        if (nagios)
            printf("PGBACKUP UNKNOWN - %s\n", pgb_ctx_errmsg(cli->ctx));
        cli_report_error(cli->ctx);
        code = nagios ? PGB_HEALTH_UNKNOWN : cli_exit_code(rc);
    }
    pgb_cluster_status_free(status);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
