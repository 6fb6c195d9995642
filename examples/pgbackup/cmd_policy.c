/*
 * pgbackup policy [--rpo D] [--rto D] [--require PATH ...] [--keep-full N]
 * [--keep-age D] [--pitr-window D] [--drill-every D] [--physical-every D]
 * [--logical-every D] [--globals-every D] [--json]: show the cluster's
 * recovery goals and policy, and change the settings given (on the command
 * line, in the environment or in the config file).
 */
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

static const char *const setters[] = {"rpo", "rto", "require", "keep-full", "keep-age", "pitr-window",
                                      "drill-every", "physical-every", "logical-every", "globals-every"};

static void print_seconds(const char *label, json_t *value, const char *unit)
{
    if (json_is_integer(value))
        printf("%-16s %lld%s\n", label, (long long)json_integer_value(value), unit);
    else
        printf("%-16s -\n", label);
}

static void print_policy(const char *json)
{
    json_t *doc = json_loads(json, 0, NULL);
    json_t *retention = json_object_get(doc, "retention"), *every = json_object_get(doc, "backup_every_seconds");
    printf("cluster          %s\n", json_string_value(json_object_get(doc, "cluster")));
    print_seconds("rpo", json_object_get(doc, "rpo_seconds"), " s");
    print_seconds("rto", json_object_get(doc, "rto_seconds"), " s");
    printf("require         ");
    size_t i;
    json_t *path;
    json_array_foreach(json_object_get(doc, "require"), i, path) printf(" %s", json_string_value(path));
    printf("%s\n", json_array_size(json_object_get(doc, "require")) ? "" : " -");
    print_seconds("keep full", json_object_get(retention, "full"), "");
    print_seconds("keep age", json_object_get(retention, "age_seconds"), " s");
    print_seconds("pitr window", json_object_get(retention, "pitr_window_seconds"), " s");
    print_seconds("drill every", json_object_get(doc, "drill_every_seconds"), " s");
    print_seconds("physical every", json_object_get(every, "physical"), " s");
    print_seconds("logical every", json_object_get(every, "logical"), " s");
    print_seconds("globals every", json_object_get(every, "globals"), " s");
    json_decref(doc);
}

int cmd_policy(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    int changes = 0;
    for (size_t i = 0; i < sizeof(setters) / sizeof(setters[0]); i++) {
        const char *value = NULL;
        changes += pgb_options_get(cli->opts, setters[i], &value) == PGB_OK && value;
    }
    pgb_policy *policy = NULL;
    int rc = pgb_policy_load(&policy, repo);
    if (rc == PGB_OK && changes)
        rc = pgb_policy_update(policy, cli->opts);
    if (rc == PGB_OK && changes)
        rc = pgb_policy_save(policy);
    const char *json = rc == PGB_OK ? pgb_policy_to_json(policy) : NULL;
    if (rc == PGB_OK && json && cli->json)
        printf("%s\n", json);
    else if (rc == PGB_OK && json)
        print_policy(json);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    }
    pgb_policy_free(policy);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
