/*
 * pgbackup repo-init: create the repository, or add a cluster to it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

int cmd_repo_init(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *url = NULL, *cluster = NULL;
    pgb_options_get(cli->opts, "repo", &url);
    pgb_options_get(cli->opts, "cluster", &cluster);
    if (!url) {
        fprintf(stderr, "pgbackup: repo-init needs --repo URL\n");
        return CLI_USAGE;
    }
    pgb_storage *storage = NULL;
    pgb_repo *repo = NULL;
    int rc = pgb_storage_open(&storage, cli->ctx, url, cli->opts);
    if (rc == PGB_OK)
        rc = pgb_repo_init(&repo, storage, cli->opts);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        pgb_storage_free(storage);
        /* A bad option value is a usage error; anything else here is a refusal or a failure. */
        return rc == PGB_EINVALID ? CLI_USAGE : cli_exit_code(rc);
    }
    if (cli->json) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "repository_id", pgb_repo_id(repo), "repo", url, "cluster",
                                cluster, "encryption", pgb_repo_encryption(repo));
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(doc);
    } else {
        printf("repository %s at %s is ready for cluster %s (encryption: %s)\n", pgb_repo_id(repo), url, cluster,
               pgb_repo_encryption(repo));
    }
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return CLI_OK;
}
