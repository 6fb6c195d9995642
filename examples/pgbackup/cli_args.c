/*
 * Command-line parsing over the options registry of the library, so that every
 * option has the same name on the command line, in the environment and in the
 * configuration file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int usage_error(pgb_ctx *ctx)
{
    fprintf(stderr, "pgbackup: %s\n", pgb_ctx_errmsg(ctx));
    return CLI_USAGE;
}

/* "--name", "--name=value", "--no-name": returns CLI_OK or CLI_USAGE; *used counts argv taken. */
static int parse_option(struct cli *cli, int argc, char **argv, int i, int *used)
{
    char name[128];
    const char *arg = argv[i] + 2;
    const char *equals = strchr(arg, '=');
    size_t len = equals ? (size_t)(equals - arg) : strlen(arg);
    if (len >= sizeof(name)) {
        fprintf(stderr, "pgbackup: option '%s' is too long\n", argv[i]);
        return CLI_USAGE;
    }
    memcpy(name, arg, len);
    name[len] = '\0';
    *used = 1;

    int index = pgb_option_find(name);
    const char *value = equals ? equals + 1 : NULL;
    if (index < 0 && strncmp(name, "no-", 3) == 0 && !equals) {
        int positive = pgb_option_find(name + 3);
        if (positive >= 0 && pgb_option_type_of((size_t)positive) == PGB_OPTION_BOOLEAN) {
            index = positive;
            value = "false";
        }
    }
    if (index < 0) {
        /* Let the library phrase the error, with its suggestion of a close name. */
        pgb_options_set(cli->opts, name, "");
        const char *message = pgb_ctx_errmsg(cli->ctx);
        const char *suggestion = strstr(message, "did you mean '");
        if (suggestion)
            fprintf(stderr, "pgbackup: unknown option '--%s'; did you mean '--%s\n", name,
                    suggestion + strlen("did you mean '"));
        else
            fprintf(stderr, "pgbackup: unknown option '--%s'; try 'pgbackup --help'\n", name);
        return CLI_USAGE;
    }
    if (!value) {
        if (pgb_option_type_of((size_t)index) == PGB_OPTION_BOOLEAN) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[i + 1];
            *used = 2;
        } else {
            fprintf(stderr, "pgbackup: option '--%s' needs a value (%s)\n", name,
                    pgb_option_value_hint((size_t)index));
            return CLI_USAGE;
        }
    }
    if (pgb_options_set(cli->opts, pgb_option_name((size_t)index), value) != PGB_OK)
        return usage_error(cli->ctx);
    return CLI_OK;
}

static int load_outer_sources(struct cli *cli)
{
    if (pgb_options_load_env(cli->opts, NULL) != PGB_OK)
        return usage_error(cli->ctx);
    const char *config = NULL;
    pgb_options_get(cli->opts, "config", &config);
    if (config) {
        int rc = pgb_options_load_file(cli->opts, config);
        if (rc != PGB_OK) {
            cli_report_error(cli->ctx);
            return rc == PGB_EINVALID ? CLI_USAGE : CLI_FAILED;
        }
    }
    return CLI_OK;
}

int cli_parse(struct cli *cli, int argc, char **argv, int *done)
{
    *done = 0;
    cli->args = calloc((size_t)argc, sizeof(char *));
    if (!cli->args) {
        fprintf(stderr, "pgbackup: out of memory\n");
        return CLI_FAILED;
    }
    int only_positional = 0;
    for (int i = 1; i < argc;) {
        const char *arg = argv[i];
        if (!only_positional && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            cli_print_help();
            *done = 1;
            return CLI_OK;
        }
        if (!only_positional && (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)) {
            printf("pgbackup %s\n", pgb_version_string());
            *done = 1;
            return CLI_OK;
        }
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
            i++;
        } else if (!only_positional && strncmp(arg, "--", 2) == 0) {
            int used = 0;
            int code = parse_option(cli, argc, argv, i, &used);
            if (code != CLI_OK)
                return code;
            i += used;
        } else if (!only_positional && arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "pgbackup: unknown option '%s'; try 'pgbackup --help'\n", arg);
            return CLI_USAGE;
        } else {
            if (!cli->command)
                cli->command = arg;
            else
                cli->args[cli->arg_count++] = argv[i];
            i++;
        }
    }
    int code = load_outer_sources(cli);
    if (code != CLI_OK)
        return code;
    int json = 0;
    pgb_options_get_bool(cli->opts, "json", &json);
    cli->json = json == 1;
    return CLI_OK;
}
