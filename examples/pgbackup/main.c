/*
 * pgbackup: the command-line front end of libpgbackup (contract: ../shared/CLI.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(struct cli *cli);
};

static const struct command commands[] = {
    {"repo-init", "create the repository (and the cluster entry)", cmd_repo_init},
    {"backup", "back up the cluster: --type physical [--mode stream|local] [--incremental]; --type logical "
               "[--db NAME ...]: pg_dump of each database; --type globals: roles and tablespaces", cmd_backup},
    {"list", "list backups, oldest first (--contents ID: the objects of a logical backup)", cmd_list},
    {"show", "the objects of a logical backup, from its stored table of contents: ID [--db NAME]", cmd_show},
    {"verify", "verify backups in the repository without restoring: [ID ...|--all]", cmd_verify},
    {"restore", "restore a physical backup, to a point in time with --target-time|-lsn|-xid|-name: --to DIR "
                "[--backup ID] [--delta] [--dry-run]; --type logical --db NAME [--table T ...] [--schema S ...] "
                "[--clean] [--create] [--target-db NAME]; --type globals", cmd_restore},
    {"policy", "show the cluster's recovery goals and policy; --rpo, --rto, --require, --keep-full, --keep-age, "
               "--pitr-window, --drill-every, --physical-every, ... change them", cmd_policy},
    {"drill", "restore into a scratch cluster, start it, run probes, record the measured RTO: [--backup ID] "
              "[--target-time T] [--probe 'SQL [=> EXPECTED]' ...]", cmd_drill},
    {"check", "the advisor: goals not met and the classic mistakes; exit 1 when one is at error level", cmd_check},
    {"status", "health for monitoring: --format text|json|prometheus|nagios (nagios: plugin exit codes)",
     cmd_status},
    {"runbook", "the recovery runbook of the cluster, in Markdown: [--output FILE]", cmd_runbook},
    {"expire", "apply the policy's retention; never removes what the PITR window needs: [--dry-run] [--as-of T]",
     cmd_expire},
    {"keygen", "make an X25519 key pair: --output FILE (private), FILE.pub", cmd_keygen},
    {"probe", "connect to PostgreSQL and report what backups depend on", cmd_probe},
    {"verify-dir", "verify a backup directory against its backup_manifest: DIR", cmd_verify_dir},
    {"wal-push", "archive one WAL file, for archive_command: PATH (%p); with --jobs N also the ready segments "
                 "after it, in parallel", cmd_wal_push},
    {"wal-fetch", "restore one archived WAL file, for restore_command: NAME DEST (%f %p), prefetching the next "
                  "--prefetch N (8); exit 1 only when not archived, 126 for any other failure", cmd_wal_fetch},
    {"wal-receive", "stream WAL from a replication slot (--slot NAME, made if missing) into the repository "
                    "until SIGINT or SIGTERM", cmd_wal_receive},
};
enum { COMMAND_COUNT = sizeof(commands) / sizeof(commands[0]) };

void cli_print_help(void)
{
    printf("Usage: pgbackup [OPTION]... COMMAND [ARGUMENT]...\n\n");
    printf("Back up and restore PostgreSQL with libpgbackup %s.\n\nCommands:\n",
           pgb_version_string());
    for (int i = 0; i < COMMAND_COUNT; i++)
        printf("  %-22s %s\n", commands[i].name, commands[i].summary);
    printf("\nOptions (also PGBACKUP_<NAME> variables and --config FILE keys):\n");
    printf("  %-30s %s\n", "-h, --help", "show this help and exit");
    printf("  %-30s %s\n", "-V, --version", "show the version and exit");
    for (size_t i = 0; i < pgb_option_count(); i++) {
        char flag[64];
        const char *hint = pgb_option_value_hint(i);
        if (pgb_option_type_of(i) == PGB_OPTION_BOOLEAN)
            snprintf(flag, sizeof(flag), "--[no-]%s", pgb_option_name(i));
        else
            snprintf(flag, sizeof(flag), "--%s %s", pgb_option_name(i), hint ? hint : "VALUE");
        const char *def = pgb_option_default(i);
        if (def && pgb_option_type_of(i) != PGB_OPTION_BOOLEAN)
            printf("  %-30s %s (default %s)\n", flag, pgb_option_help(i), def);
        else
            printf("  %-30s %s\n", flag, pgb_option_help(i));
    }
    printf("\nExit codes: 0 success, 1 failure, 2 usage error, 3 damage found, "
           "4 refused for safety.\n");
}

static const struct command *find_command(const char *name)
{
    for (int i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void log_to_stderr(int level, const char *message, void *payload)
{
    (void)payload;
    fprintf(stderr, "pgbackup: %s: %s\n", pgb_log_level_name(level), message);
}

int main(int argc, char **argv)
{
    struct cli cli = {0};
    int code = CLI_FAILED;
    if (pgb_ctx_new(&cli.ctx) != PGB_OK) {
        fprintf(stderr, "pgbackup: out of memory\n");
        return CLI_FAILED;
    }
    if (pgb_options_new(&cli.opts, cli.ctx) != PGB_OK) {
        cli_report_error(cli.ctx);
        goto done;
    }
    int finished = 0;
    code = cli_parse(&cli, argc, argv, &finished);
    /* A bad config file or variable must not read as "WAL file not archived" to restore_command. */
    if (code != CLI_OK && cli.command && strcmp(cli.command, "wal-fetch") == 0)
        code = CLI_STOP_RECOVERY;
    if (code != CLI_OK || finished)
        goto done;

    const char *level_name = NULL;
    pgb_options_get(cli.opts, "log-level", &level_name);
    pgb_ctx_set_log(cli.ctx, log_to_stderr, NULL, pgb_log_level_from_name(level_name));

    if (!cli.command) {
        fprintf(stderr, "pgbackup: no command given; try 'pgbackup --help'\n");
        code = CLI_USAGE;
        goto done;
    }
    const struct command *command = find_command(cli.command);
    if (!command) {
        fprintf(stderr, "pgbackup: unknown command '%s'; try 'pgbackup --help'\n", cli.command);
        code = CLI_USAGE;
        goto done;
    }
    code = command->run(&cli);
done:
    free(cli.args);
    pgb_options_free(cli.opts);
    pgb_ctx_free(cli.ctx);
    return code;
}
