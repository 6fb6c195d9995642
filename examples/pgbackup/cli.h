/*
 * The pgbackup command line: shared declarations of the CLI's files.
 * The CLI uses only the public API of libpgbackup, like any embedding program.
 */
#ifndef PGBACKUP_CLI_H
#define PGBACKUP_CLI_H

#include <pgbackup/pgbackup.h>

/* Exit codes of ../shared/CLI.md. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAILED = 1,
    CLI_USAGE = 2,
    CLI_DAMAGE = 3,
    CLI_REFUSED = 4,
    /* wal-fetch, any failure but "not archived": above 125, so PostgreSQL stops recovery */
    CLI_STOP_RECOVERY = 126
};

struct cli {
    pgb_ctx *ctx;
    pgb_options *opts;
    const char *command;
    char **args; /* positional arguments after the command */
    int arg_count;
    int json;    /* --json */
};

/*
 * Parse argv into cli->opts (command-line precedence), then take the
 * environment and the configuration file. Returns CLI_OK, or an exit code after
 * printing the reason; *done is set when --help or --version was answered.
 */
int cli_parse(struct cli *cli, int argc, char **argv, int *done);

/* Print the general help to stdout. */
void cli_print_help(void);

/* Print "pgbackup: <message>" and the detail, if any, to stderr. */
void cli_report_error(pgb_ctx *ctx);

/* The exit code for a failed library call, following CLI.md. */
int cli_exit_code(int status);

/*
 * Open the storage and repository the options name (--repo, --cluster, keys).
 * Returns CLI_OK, or an exit code after printing the reason.
 */
int cli_open_repo(struct cli *cli, pgb_storage **storage, pgb_repo **repo);

/* Refuse positional arguments for commands that take none. */
int cli_no_arguments(struct cli *cli);

/* Commands. Each returns an exit code. */
int cmd_probe(struct cli *cli);
int cmd_repo_init(struct cli *cli);
int cmd_list(struct cli *cli);
int cmd_keygen(struct cli *cli);
int cmd_restore(struct cli *cli);
int cmd_policy(struct cli *cli);
int cmd_drill(struct cli *cli);
int cmd_check(struct cli *cli);
int cmd_status(struct cli *cli);
int cmd_runbook(struct cli *cli);
int cmd_expire(struct cli *cli);
int cmd_backup(struct cli *cli);
int cmd_verify(struct cli *cli);
int cmd_verify_dir(struct cli *cli);
int cmd_wal_push(struct cli *cli);
int cmd_wal_fetch(struct cli *cli);
int cmd_wal_receive(struct cli *cli);
int cmd_show(struct cli *cli);

/* restore --type logical|globals (cmd_restore dispatches here). */
int cmd_restore_logical(struct cli *cli);

/* The objects of logical backup id (show ID, list --contents ID). */
int cmd_show_contents(struct cli *cli, const char *id);

#endif
