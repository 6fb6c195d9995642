/*
 * pgbackup show ID [--db NAME ...] (also list --contents ID): the objects of a
 * logical backup, from the tables of contents stored with it; no dump is read.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_show_contents(struct cli *cli, const char *id)
{
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    pgb_backup_contents *contents = NULL;
    int rc = pgb_backup_contents_read(&contents, repo, id, cli->opts);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    } else if (cli->json) {
        printf("%s\n", pgb_backup_contents_to_json(contents));
    } else {
        const char *shown = NULL;
        for (size_t i = 0; i < pgb_backup_contents_count(contents); i++) {
            const char *database, *kind, *schema, *name, *owner;
            pgb_backup_contents_object(contents, i, &database, &kind, &schema, &name, &owner);
            if (!shown || strcmp(shown, database) != 0)
                printf("%sdatabase %s\n%-24s %-20s %-32s %s\n", shown ? "\n" : "", database, "KIND", "SCHEMA", "NAME",
                       "OWNER");
            shown = database;
            printf("%-24s %-20s %-32s %s\n", kind, *schema ? schema : "-", name, *owner ? owner : "-");
        }
    }
    pgb_backup_contents_free(contents);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}

int cmd_show(struct cli *cli)
{
    if (cli->arg_count != 1) {
        fprintf(stderr, "pgbackup: show takes one backup id (see pgbackup list)\n");
        return CLI_USAGE;
    }
    return cmd_show_contents(cli, cli->args[0]);
}
