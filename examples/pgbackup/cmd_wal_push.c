/*
 * pgbackup wal-push PATH: archive one WAL file, for
 * archive_command = 'pgbackup --config FILE wal-push %p'.
 *
 * Exit 0 only once the file is durable in the repository (or was archived
 * already with identical content); 1 for any failure, which the server retries
 * later; 2 for a wrong command line. Never above 125: that would restart the
 * archiver instead of counting a failure in pg_stat_archiver.
 *
 * With --jobs N (2 or more), the segments the server has ready after PATH
 * (up to --push-ahead, default 4 x N) are archived too, in parallel, and
 * marked in the spool (--spool-dir, default pg_wal/pgbackup.spool): the
 * server's calls for them then return at once.
 */
#include <stdio.h>

#include "cli.h"

int cmd_wal_push(struct cli *cli)
{
    if (cli->arg_count != 1) {
        fprintf(stderr, "pgbackup: wal-push takes one argument, the WAL file's path (%%p of archive_command)\n");
        return CLI_USAGE;
    }
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code == CLI_USAGE ? CLI_USAGE : CLI_FAILED;
    if (pgb_wal_push_with_options(repo, cli->args[0], cli->opts) != PGB_OK) {
        cli_report_error(cli->ctx);
        code = CLI_FAILED;
    }
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
