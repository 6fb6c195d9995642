#include <stdio.h>

#include "cli.h"

void cli_report_error(pgb_ctx *ctx)
{
    const char *detail = pgb_ctx_errdetail(ctx);
    fprintf(stderr, "pgbackup: %s\n", pgb_ctx_errmsg(ctx));
    if (detail && *detail)
        fprintf(stderr, "DETAIL: %s\n", detail);
}

int cli_exit_code(int status)
{
    switch (status) {
    case PGB_OK:
        return CLI_OK;
    case PGB_EINVALID:
        return CLI_USAGE;
    case PGB_ECORRUPT:
        return CLI_DAMAGE;
    case PGB_EREFUSED:
    case PGB_ELOCKED:
        return CLI_REFUSED;
    default:
        return CLI_FAILED;
    }
}
