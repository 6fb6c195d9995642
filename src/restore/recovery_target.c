#include "restore/recovery_target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>
#include <pgbackup/options.h>

#include "core/clock.h"
#include "core/error.h"
#include "pg/lsn.h"

/* pg_create_restore_point() takes names shorter than MAXFNAMELEN (64). */
enum { RESTORE_POINT_NAME_MAX = 63 };

static const char *const kind_names[] = {"latest", "immediate", "time", "lsn", "xid", "name"};

const char *pgb_recovery_target_kind_name(int kind)
{
    return kind >= 0 && kind <= PGB_TARGET_NAME ? kind_names[kind] : "?";
}

const char *pgb_recovery_target_timeline_text(const struct pgb_recovery_target *t, char out[16])
{
    if (t->timeline_choice == PGB_TIMELINE_NUMBER)
        snprintf(out, 16, "%u", t->timeline);
    else
        snprintf(out, 16, "%s", t->timeline_choice == PGB_TIMELINE_CURRENT ? "current" : "latest");
    return out;
}

static int parse_value(pgb_ctx *ctx, struct pgb_recovery_target *t)
{
    char *end = NULL;
    switch (t->kind) {
    case PGB_TARGET_TIME:
        if (pgb_time_parse_iso8601(t->value, &t->time) != 0)
            return pgb_error_set(ctx, PGB_EINVALID, "target-time '%s' is not a time with an offset, such as "
                                 "2026-11-24T10:15:00+00:00", t->value);
        return PGB_OK;
    case PGB_TARGET_LSN:
        if (pgb_lsn_parse(NULL, t->value, &t->lsn) != PGB_OK)
            return pgb_error_set(ctx, PGB_EINVALID, "target-lsn '%s' is not an LSN such as 0/3000028", t->value);
        return PGB_OK;
    case PGB_TARGET_XID:
        errno = 0;
        unsigned long long xid = strtoull(t->value, &end, 10);
        /* Accepted by the server: a 32-bit xid, or a 64-bit full transaction id. */
        if (errno || end == t->value || *end || t->value[0] == '-' || xid < 3)
            return pgb_error_set(ctx, PGB_EINVALID, "target-xid '%s' is not a transaction id (a number from 3)",
                                 t->value);
        return PGB_OK;
    case PGB_TARGET_NAME:
        if (!*t->value || strlen(t->value) > RESTORE_POINT_NAME_MAX)
            return pgb_error_set(ctx, PGB_EINVALID, "target-name '%s' is not a restore point name (1 to %d bytes)",
                                 t->value, RESTORE_POINT_NAME_MAX);
        return PGB_OK;
    default:
        return PGB_OK;
    }
}

static int read_timeline(pgb_ctx *ctx, const pgb_options *opts, struct pgb_recovery_target *t)
{
    const char *text = NULL;
    if (opts)
        pgb_options_get(opts, "target-timeline", &text);
    if (!text || strcmp(text, "latest") == 0)
        return PGB_OK;
    if (strcmp(text, "current") == 0) {
        t->timeline_choice = PGB_TIMELINE_CURRENT;
        return PGB_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || n == 0 || n > UINT32_MAX)
        return pgb_error_set(ctx, PGB_EINVALID, "target-timeline '%s' is not latest, current or a timeline number",
                             text);
    t->timeline_choice = PGB_TIMELINE_NUMBER;
    t->timeline = (uint32_t)n;
    return PGB_OK;
}

int pgb_recovery_target_read(pgb_ctx *ctx, const pgb_options *opts, struct pgb_recovery_target *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = PGB_TARGET_LATEST;
    out->inclusive = 1;
    out->action = "pause";
    static const struct {
        const char *option;
        int kind;
    } targets[] = {{"target-time", PGB_TARGET_TIME},
                   {"target-lsn", PGB_TARGET_LSN},
                   {"target-xid", PGB_TARGET_XID},
                   {"target-name", PGB_TARGET_NAME}};
    const char *given = NULL, *text = NULL;
    if (opts && pgb_options_get(opts, "target", &text) == PGB_OK && text) {
        if (strcmp(text, "immediate") == 0)
            out->kind = PGB_TARGET_IMMEDIATE;
        else if (strcmp(text, "latest") != 0)
            return pgb_error_set(ctx, PGB_EINVALID, "target '%s' is not latest or immediate (other targets have "
                                 "their own options: target-time, target-lsn, target-xid, target-name)", text);
        given = "target";
    }
    for (size_t i = 0; opts && i < sizeof(targets) / sizeof(targets[0]); i++) {
        text = NULL;
        if (pgb_options_get(opts, targets[i].option, &text) != PGB_OK || !text)
            continue;
        if (given)
            return pgb_error_set(ctx, PGB_EINVALID, "%s and %s both set: recovery stops at one target", given,
                                 targets[i].option);
        given = targets[i].option;
        out->kind = targets[i].kind;
        out->value = text;
    }
    int rc = parse_value(ctx, out);
    if (rc == PGB_OK)
        rc = read_timeline(ctx, opts, out);
    int inclusive = 1;
    if (rc == PGB_OK && opts && pgb_options_get_bool(opts, "target-inclusive", &inclusive) == PGB_OK)
        out->inclusive = inclusive != 0;
    if (rc == PGB_OK && opts && pgb_options_get(opts, "target-action", &text) == PGB_OK && text)
        out->action = text;
    return rc;
}
