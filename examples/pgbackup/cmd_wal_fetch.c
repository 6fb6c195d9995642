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
 *
 * Unless --prefetch says otherwise, each call fetches the 8 segments after
 * the requested one into the spool (--spool-dir, default pg_wal/pgbackup.spool),
 * so that the next calls are served from there without a repository round
 * trip each.
 */
#include <stdio.h>

#include "cli.h"

/* Enough to hide a remote repository's round trips behind replay, small enough for the disk (8 x 16 MiB). */
static const char default_prefetch[] = "8";

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
    int rc = PGB_OK;
    if (pgb_options_source(cli->opts, "prefetch") == PGB_SOURCE_DEFAULT)
        rc = pgb_options_set(cli->opts, "prefetch", default_prefetch);
    if (rc == PGB_OK)
        rc = pgb_wal_fetch_with_options(repo, cli->args[0], cli->args[1], cli->opts);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = rc == PGB_ENOTFOUND ? CLI_FAILED : CLI_STOP_RECOVERY;
    }
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
