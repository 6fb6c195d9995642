/*
 * pgbackup wal-receive: stream WAL from a replication slot into the
 * repository until SIGINT or SIGTERM, then store what was received and exit
 * 0. Each archived segment is logged (info); the positions reached are
 * printed at the end, as one JSON document with --json.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

/* Set before the handlers are installed, cleared after they are restored. */
static pgb_wal_receiver *volatile receiving;

static void on_signal(int signal_number)
{
    (void)signal_number;
    pgb_wal_receiver *receiver = receiving;
    if (receiver)
        pgb_wal_receiver_stop(receiver); /* only sets a flag: safe in a signal handler */
}

static void format_lsn(uint64_t lsn, char out[18])
{
    snprintf(out, 18, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

static void print_positions(const struct cli *cli, const pgb_wal_receiver *receiver)
{
    char received[18], flushed[18];
    format_lsn(pgb_wal_receiver_received_lsn(receiver), received);
    format_lsn(pgb_wal_receiver_flushed_lsn(receiver), flushed);
    if (!cli->json) {
        fprintf(stderr, "pgbackup: received WAL up to %s on timeline %u, archived up to %s (slot %s)\n", received,
                (unsigned)pgb_wal_receiver_timeline(receiver), flushed, pgb_wal_receiver_slot(receiver));
        return;
    }
    json_t *doc = json_pack("{s:i, s:s, s:I, s:s, s:s}", "format_version", 1, "slot",
                            pgb_wal_receiver_slot(receiver), "timeline",
                            (json_int_t)pgb_wal_receiver_timeline(receiver), "received_lsn", received, "flushed_lsn",
                            flushed);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(doc);
}

int cmd_wal_receive(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    pgb_wal_receiver *receiver = NULL;
    int rc = pgb_wal_receiver_new(&receiver, repo, cli->opts);
    if (rc == PGB_OK) {
        struct sigaction stop = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, old_int, old_term;
        sigemptyset(&stop.sa_mask);
        receiving = receiver;
        sigaction(SIGINT, &stop, &old_int);
        sigaction(SIGTERM, &stop, &old_term);
        rc = pgb_wal_receiver_run(receiver);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        receiving = NULL;
    }
    if (rc == PGB_OK) {
        print_positions(cli, receiver);
    } else {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    }
    pgb_wal_receiver_free(receiver);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
