/*
 * pgbackup runbook [--output FILE]: the recovery runbook of the cluster, in
 * Markdown, on stdout or into FILE (written whole, then renamed into place).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int write_file(const char *path, const char *text)
{
    size_t len = strlen(path) + 16;
    char *temp = malloc(len);
    if (!temp)
        return -1;
    snprintf(temp, len, "%s.tmp", path);
    FILE *f = fopen(temp, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    ok = ok && rename(temp, path) == 0;
    if (!ok)
        unlink(temp);
    free(temp);
    return ok ? 0 : -1;
}

int cmd_runbook(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *output = NULL;
    pgb_options_get(cli->opts, "output", &output);
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    char *markdown = NULL;
    int rc = pgb_runbook_generate(repo, cli->opts, &markdown);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    } else if (!output) {
        fputs(markdown, stdout);
    } else if (write_file(output, markdown) != 0) {
        perror(output);
        code = CLI_FAILED;
    } else {
        fprintf(stderr, "runbook written to %s\n", output);
    }
    pgb_free(markdown);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
