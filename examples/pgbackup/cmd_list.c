/*
 * pgbackup list: the backups of a cluster, oldest first.
 */
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

static const char *text_of(json_t *record, const char *key)
{
    const char *value = json_string_value(json_object_get(record, key));
    return value ? value : "-";
}

/* The databases of a logical backup, comma-separated ("" for other kinds). */
static void databases_of(json_t *record, char *out, size_t size)
{
    size_t i, used = 0;
    json_t *name;
    out[0] = '\0';
    json_array_foreach(json_object_get(record, "databases"), i, name)
    {
        int n = snprintf(out + used, size - used, "%s%s", i ? "," : "", json_string_value(name));
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

int cmd_list(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *contents = NULL;
    pgb_options_get(cli->opts, "contents", &contents);
    if (contents)
        return cmd_show_contents(cli, contents);
    pgb_storage *storage;
    pgb_repo *repo;
    int code = cli_open_repo(cli, &storage, &repo);
    if (code != CLI_OK)
        return code;
    pgb_backup_list *list = NULL;
    int rc = pgb_repo_list(&list, repo);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        code = cli_exit_code(rc);
    } else if (cli->json) {
        printf("%s\n", pgb_backup_list_to_json(list));
    } else {
        const char *cluster = NULL;
        pgb_options_get(cli->opts, "cluster", &cluster);
        size_t count = pgb_backup_list_count(list);
        if (count == 0)
            printf("no backups of cluster %s yet\n", cluster);
        json_t *records = json_loads(pgb_backup_list_to_json(list), 0, NULL);
        size_t i;
        json_t *record;
        json_array_foreach(records, i, record)
        {
            char databases[256];
            databases_of(record, databases, sizeof(databases));
            printf("%-32s %-10s %s%s%s\n", text_of(record, "id"), text_of(record, "type"),
                   text_of(record, "stop_time"), databases[0] ? "  " : "", databases);
        }
        json_decref(records);
    }
    pgb_backup_list_free(list);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    return code;
}
