/*
 * pgbackup check [--pg CONNINFO] [--json]: the advisor. Prints each finding
 * (severity, code, message, fix); exit 0 when none is at error level, 1
 * otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

int cmd_check(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    pgb_cluster_status *status = NULL;
    int rc = pgb_cluster_status_new(&status, repo, cli->opts);
    json_t *doc = rc == PGB_OK ? json_loads(pgb_cluster_status_render(status, "json"), 0, NULL) : NULL;
    json_t *findings = json_object_get(doc, "findings");
    if (rc == PGB_OK && cli->json) {
        char *text = json_dumps(findings, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "[]");
        free(text);
    } else if (rc == PGB_OK) {
        size_t i;
        json_t *f;
        if (json_array_size(findings) == 0)
            printf("no findings: the goals are met and none of the classic mistakes was found\n");
        json_array_foreach(findings, i, f) printf("%-7s %-32s %s\n        fix: %s\n",
                                                  json_string_value(json_object_get(f, "severity")),
                                                  json_string_value(json_object_get(f, "code")),
                                                  json_string_value(json_object_get(f, "message")),
                                                  json_string_value(json_object_get(f, "fix")));
    }
    if (rc == PGB_OK)
        code = pgb_cluster_status_error_count(status) > 0 ? CLI_FAILED : CLI_OK;
    else {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    }
    json_decref(doc);
    pgb_cluster_status_free(status);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
