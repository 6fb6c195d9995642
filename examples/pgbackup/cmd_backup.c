/*
 * pgbackup backup --type physical [--mode stream|local] [--incremental]: a base backup
 * of the whole cluster into the repository.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* One line of progress on a terminal, rewritten in place. */
static int show_progress(const pgb_progress *p, void *payload)
{
    (void)payload;
    uint64_t done = pgb_progress_bytes_done(p), total = pgb_progress_bytes_total(p);
    double seconds = (double)pgb_progress_elapsed_ms(p) / 1000.0;
    double rate = seconds > 0 ? (double)done / seconds / 1e6 : 0;
    if (total > 0) {
        double eta = rate > 0 ? (double)(total - (done < total ? done : total)) / 1e6 / rate : 0;
        fprintf(stderr, "\r%-6s %6.1f%%  %8.1f MB  %6.1f MB/s  ETA %4.0fs ", pgb_progress_phase(p),
                100.0 * (double)done / (double)total, (double)done / 1e6, rate, eta);
    } else {
        fprintf(stderr, "\r%-6s %8.1f MB  %6.1f MB/s ", pgb_progress_phase(p), (double)done / 1e6, rate);
    }
    return 0;
}

int cmd_backup(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    int progress = -1;
    pgb_options_get_bool(cli->opts, "progress", &progress);
    if (progress == 1 || (progress == -1 && isatty(STDERR_FILENO)))
        pgb_ctx_set_progress(cli->ctx, show_progress, NULL);
    pgb_job *job = NULL;
    int rc = pgb_job_new(&job, repo, cli->opts);
    if (rc == PGB_OK)
        rc = pgb_job_run(job);
    if (progress == 1 || (progress == -1 && isatty(STDERR_FILENO)))
        fprintf(stderr, "\n");
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = rc == PGB_EINVALID ? CLI_USAGE : cli_exit_code(rc);
    } else if (cli->json) {
        printf("%s\n", pgb_job_to_json(job));
    } else {
        printf("backup %s committed\n", pgb_job_backup_id(job));
    }
    pgb_job_free(job);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
