/*
 * pgbackup keygen --output FILE: an X25519 key pair for public-key encryption.
 */
#include <stdio.h>

#include "cli.h"

int cmd_keygen(struct cli *cli)
{
    if (cli_no_arguments(cli) != CLI_OK)
        return CLI_USAGE;
    const char *output = NULL;
    pgb_options_get(cli->opts, "output", &output);
    if (!output) {
        fprintf(stderr, "pgbackup: keygen needs --output FILE (the private key; FILE.pub gets the public key)\n");
        return CLI_USAGE;
    }
    int rc = pgb_keygen(cli->ctx, output);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        return rc == PGB_EEXISTS ? CLI_REFUSED : CLI_FAILED;
    }
    if (cli->json)
        printf("{\"private_key\": \"%s\", \"public_key\": \"%s.pub\"}\n", output, output);
    else
        printf("private key: %s (keep it where restores run)\npublic key:  %s.pub (give it to hosts that write "
               "backups: --recipient)\n", output, output);
    return CLI_OK;
}
