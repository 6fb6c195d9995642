/*
 * pgbackup wal-fetch NAME DEST: restore one archived WAL file, for
 * restore_command = 'pgbackup --config FILE wal-fetch %f %p'.
 *
 * PostgreSQL reads every non-zero exit status up to 125 as "no such file",
 * which at the end of the archive ends recovery and promotes the server. So
 * exit 1 means only "certainly not archived"; every other failure (repository
 * unreachable or missing, wrong key, damage, a bad option, even a wrong
 * number of arguments) exits 126, and the server stops recovery instead of
 * promoting early and losing what comes after.
 */
#include <stdio.h>

#include "cli.h"

int cmd_wal_fetch(struct cli *cli)
{
    if (cli->arg_count != 2) {
        fprintf(stderr, "pgbackup: wal-fetch takes two arguments, the WAL file's name and where to write it "
                        "(%%f %%p of restore_command)\n");
        return CLI_STOP_RECOVERY;
    }
    pgb_storage *storage;
    pgb_repo *repo;
    if (cli_open_repo(cli, &storage, &repo) != CLI_OK)
        return CLI_STOP_RECOVERY;
    int code = CLI_OK;
    int rc = pgb_wal_fetch(repo, cli->args[0], cli->args[1]);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = rc == PGB_ENOTFOUND ? CLI_FAILED : CLI_STOP_RECOVERY;
    }
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
