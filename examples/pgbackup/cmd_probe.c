/*
 * pgbackup probe: connect to PostgreSQL and report what backups depend on.
 */
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

static const char *yes_no(json_t *doc, const char *key, const char *yes, const char *no)
{
    return json_is_true(json_object_get(doc, key)) ? yes : no;
}

static void print_text(const char *report)
{
    json_t *doc = json_loads(report, 0, NULL);
    if (!doc) {
        puts(report);
        return;
    }
    const char *sysid = json_string_value(json_object_get(doc, "system_identifier"));
    printf("server            PostgreSQL %s (%lld) at host=%s port=%s\n",
           json_string_value(json_object_get(doc, "server_version")),
           (long long)json_integer_value(json_object_get(doc, "server_version_num")),
           json_string_value(json_object_get(doc, "host")),
           json_string_value(json_object_get(doc, "port")));
    printf("system identifier %s\n", sysid ? sysid : "(not readable by this role)");
    printf("timeline          %lld\n", (long long)json_integer_value(json_object_get(doc, "timeline")));
    printf("role              %s (%s)\n", json_string_value(json_object_get(doc, "user")),
           yes_no(doc, "role_can_replicate", "may replicate", "may not replicate"));
    printf("in recovery       %s\n", yes_no(doc, "in_recovery", "yes (standby)", "no (primary)"));
    printf("wal_level         %s\n", json_string_value(json_object_get(doc, "wal_level")));
    printf("archive_mode      %s\n", json_string_value(json_object_get(doc, "archive_mode")));
    printf("data checksums    %s\n", yes_no(doc, "data_checksums", "on", "off"));
    printf("replication conn  %s\n", yes_no(doc, "replication_connection_ok", "accepted", "refused"));
    json_t *archiver = json_object_get(doc, "archiver");
    if (json_is_object(archiver)) {
        const char *last = json_string_value(json_object_get(archiver, "last_archived_wal"));
        printf("archiving         %lld archived (last %s), %lld failed%s\n",
               (long long)json_integer_value(json_object_get(archiver, "archived_count")), last ? last : "none",
               (long long)json_integer_value(json_object_get(archiver, "failed_count")),
               json_is_true(json_object_get(archiver, "failing")) ? ", FAILING now" : "");
    }
    json_t *problems = json_object_get(doc, "problems");
    if (json_array_size(problems) == 0) {
        printf("problems          none\n");
    } else {
        printf("problems:\n");
        size_t i;
        json_t *item;
        json_array_foreach(problems, i, item) printf("  - %s\n", json_string_value(item));
    }
    json_decref(doc);
}

int cmd_probe(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *conninfo = NULL;
    pgb_options_get(cli->opts, "pg", &conninfo);
    pgb_server_info *info = NULL;
    int rc = pgb_pg_probe(&info, cli->ctx, conninfo);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        return cli_exit_code(rc) == CLI_USAGE ? CLI_FAILED : cli_exit_code(rc);
    }
    if (cli->json)
        printf("%s\n", pgb_server_info_to_json(info));
    else
        print_text(pgb_server_info_to_json(info));
    pgb_server_info_free(info);
    return CLI_OK;
}
