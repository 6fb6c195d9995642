/*
 * pgbackup verify-dir DIR [--json] [--jobs N]: a plain backup directory
 * (pg_basebackup -Fp output) against its backup_manifest, as pg_verifybackup.
 * Exit 0 when sound, 3 when damage or a missing piece was found (a manifest
 * that cannot be read included), 1 when the check could not run, 2 for usage.
 */
#include <stdio.h>

#include "cli.h"

static void print_findings(pgb_verify_report *report, const char *dir)
{
    if (pgb_verify_report_ok(report)) {
        printf("backup successfully verified\n");
        return;
    }
    const pgb_verify_finding *finding = NULL;
    while (pgb_verify_report_next(report, &finding) == PGB_OK)
        printf("%s: %s\n", pgb_verify_finding_kind(finding), pgb_verify_finding_message(finding));
    size_t count = pgb_verify_report_problem_count(report);
    printf("%zu problem%s found in %s\n", count, count == 1 ? "" : "s", dir);
}

int cmd_verify_dir(struct cli *cli)
{
    if (cli->arg_count != 1) {
        fprintf(stderr, "pgbackup: verify-dir takes one directory (pgbackup verify-dir DIR)\n");
        return CLI_USAGE;
    }
    const char *dir = cli->args[0];
    pgb_verify_report *report = NULL;
    int rc = pgb_verify_dir(&report, cli->ctx, dir, cli->opts);
    if (rc != PGB_OK) {
        cli_report_error(cli->ctx);
        /* The directory was named right but is unusable: a failure, not a usage error. */
        return rc == PGB_EINVALID ? CLI_FAILED : cli_exit_code(rc);
    }
    if (cli->json)
        printf("%s\n", pgb_verify_report_to_json(report));
    else
        print_findings(report, dir);
    int code = pgb_verify_report_ok(report) ? CLI_OK : CLI_DAMAGE;
    pgb_verify_report_free(report);
    return code;
}
