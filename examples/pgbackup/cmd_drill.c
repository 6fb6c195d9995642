/*
 * pgbackup drill [--backup ID] [--target-time T ...] [--probe 'SQL [=> EXPECTED]' ...]
 * [--kind physical] [--drill-user USER] [--json]: restore into a scratch
 * cluster, start it, probe it, record the measured RTO; exit 0 when the drill
 * passed, 1 when it failed (the report says why), 2 for bad usage.
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static void print_report(const char *json)
{
    json_t *doc = json_loads(json, 0, NULL);
    json_t *reached = json_object_get(doc, "reached");
    printf("drill %s: %s\n", json_string_value(json_object_get(doc, "id")),
           json_is_true(json_object_get(doc, "passed")) ? "passed" : "FAILED");
    printf("  backup:   %s\n", json_string_value(json_object_get(doc, "backup")) ?: "-");
    json_t *rto = json_object_get(doc, "rto_seconds"), *goal = json_object_get(doc, "rto_goal_seconds");
    if (json_is_number(rto))
        printf("  RTO:      %.1f s%s", json_number_value(rto), json_is_integer(goal) ? "" : "\n");
    if (json_is_number(rto) && json_is_integer(goal))
        printf(" (goal %lld s: %s)\n", (long long)json_integer_value(goal),
               json_is_true(json_object_get(doc, "rto_met")) ? "met" : "NOT met");
    if (json_is_string(json_object_get(reached, "lsn")))
        printf("  reached:  LSN %s, timeline %lld%s%s\n", json_string_value(json_object_get(reached, "lsn")),
               (long long)json_integer_value(json_object_get(reached, "timeline")),
               json_is_string(json_object_get(reached, "time")) ? ", last transaction at " : "",
               json_string_value(json_object_get(reached, "time")) ?: "");
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(doc, "steps"), i, item) {
        printf("  step %-9s %6.2f s %s%s\n", json_string_value(json_object_get(item, "name")),
               json_number_value(json_object_get(item, "seconds")),
               json_is_true(json_object_get(item, "ok")) ? "ok" : "FAILED: ",
               json_string_value(json_object_get(item, "detail")) ?: "");
    }
    json_array_foreach(json_object_get(doc, "probes"), i, item) {
        printf("  probe %s: %s%s\n", json_string_value(json_object_get(item, "sql")),
               json_is_true(json_object_get(item, "passed")) ? "passed" : "FAILED: ",
               json_string_value(json_object_get(item, "error")) ?: "");
    }
    json_array_foreach(json_object_get(doc, "checks"), i, item) {
        if (!json_is_true(json_object_get(item, "passed")))
            printf("  check %s FAILED: %s\n", json_string_value(json_object_get(item, "name")),
                   json_string_value(json_object_get(item, "detail")));
    }
    json_decref(doc);
}

int cmd_drill(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *program = NULL;
    pgb_options_get(cli->opts, "program", &program);
    char self[PATH_MAX];
    ssize_t n = program ? -1 : readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) { /* restore_command of the scratch server runs this program */
        self[n] = '\0';
        pgb_options_set(cli->opts, "program", self);
    }
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    pgb_drill *drill = NULL;
    int rc = pgb_drill_new(&drill, repo, cli->opts);
    if (rc == PGB_OK)
        rc = pgb_drill_run(drill);
    if (rc == PGB_OK) {
        if (cli->json)
            printf("%s\n", pgb_drill_to_json(drill));
        else
            print_report(pgb_drill_to_json(drill));
        code = pgb_drill_passed(drill) ? CLI_OK : CLI_FAILED;
    } else {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    }
    pgb_drill_free(drill);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
