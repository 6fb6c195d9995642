/*
 * pgbackup verify [ID ...|--all] [--jobs N]: verify backups inside the
 * repository without restoring them, files read by N threads. Exit 0 when
 * every one is sound, 3 when any has damage or a missing piece, 1 when a
 * check could not run.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

/* The ids to verify: the arguments, every backup (--all), or the newest (NULL). */
static int chosen_ids(struct cli *cli, pgb_repo *repo, pgb_backup_list **list, const char ***ids, size_t *count)
{
    int all = 0;
    pgb_options_get_bool(cli->opts, "all", &all);
    *list = NULL;
    if (all == 1) {
        int rc = pgb_repo_list(list, repo);
        if (rc != PGB_OK)
            return rc;
        *count = pgb_backup_list_count(*list);
        *ids = calloc(*count ? *count : 1, sizeof(**ids));
        for (size_t i = 0; *ids && i < *count; i++)
            (*ids)[i] = pgb_backup_list_id(*list, i);
    } else {
        *count = cli->arg_count ? (size_t)cli->arg_count : 1;
        *ids = calloc(*count, sizeof(**ids));
        for (size_t i = 0; *ids && i < (size_t)cli->arg_count; i++)
            (*ids)[i] = cli->args[i];
    }
    return *ids ? PGB_OK : PGB_ENOMEM;
}

static void print_report(pgb_verify_report *report, const char *id)
{
    const pgb_verify_finding *finding = NULL;
    if (pgb_verify_report_ok(report)) {
        printf("backup %s: verified, no problem found\n", id ? id : "(newest)");
        return;
    }
    while (pgb_verify_report_next(report, &finding) == PGB_OK)
        printf("backup %s: %s %s: %s\n", id ? id : "(newest)", pgb_verify_finding_kind(finding),
               pgb_verify_finding_path(finding), pgb_verify_finding_message(finding));
}

int cmd_verify(struct cli *cli)
{
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    pgb_backup_list *list = NULL;
    const char **ids = NULL;
    size_t count = 0;
    int rc = chosen_ids(cli, repo, &list, &ids, &count);
    json_t *reports = json_array();
    for (size_t i = 0; rc == PGB_OK && i < count; i++) {
        pgb_verify_report *report = NULL;
        rc = pgb_verify_backup_with_options(&report, repo, ids[i], cli->opts);
        if (rc != PGB_OK)
            break;
        if (!pgb_verify_report_ok(report))
            code = CLI_DAMAGE;
        if (cli->json)
            json_array_append_new(reports, json_loads(pgb_verify_report_to_json(report), 0, NULL));
        else
            print_report(report, ids[i]);
        pgb_verify_report_free(report);
    }
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc) == CLI_USAGE ? CLI_FAILED : cli_exit_code(rc);
    } else if (cli->json) {
        char *text = json_dumps(reports, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
    }
    json_decref(reports);
    free(ids);
    pgb_backup_list_free(list);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
