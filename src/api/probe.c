/*
 * Public entry points of the server probe: argument checks and handle lifetime.
 */
#include <pgbackup/error.h>
#include <pgbackup/probe.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "pg/server_facts.h"

static int is_info(const pgb_server_info *info)
{
    return info && info->magic == PGB_MAGIC_SERVER_INFO;
}

int pgb_pg_probe(pgb_server_info **out, pgb_ctx *ctx, const char *conninfo)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_pg_probe: out is NULL");
    return pgb_server_facts_read(ctx, conninfo, out);
}

void pgb_server_info_free(pgb_server_info *info)
{
    if (is_info(info))
        pgb_server_facts_free(info);
}

int pgb_server_info_version_num(const pgb_server_info *i) { return is_info(i) ? i->version_num : 0; }
const char *pgb_server_info_version(const pgb_server_info *i) { return is_info(i) ? i->version : NULL; }
const char *pgb_server_info_system_identifier(const pgb_server_info *i)
{
    return is_info(i) ? i->system_identifier : NULL;
}
int pgb_server_info_data_checksums(const pgb_server_info *i) { return is_info(i) && i->data_checksums; }
const char *pgb_server_info_wal_level(const pgb_server_info *i) { return is_info(i) ? i->wal_level : NULL; }
const char *pgb_server_info_archive_mode(const pgb_server_info *i)
{
    return is_info(i) ? i->archive_mode : NULL;
}
int pgb_server_info_role_can_replicate(const pgb_server_info *i)
{
    return is_info(i) && (i->role_superuser || i->role_replication);
}
int pgb_server_info_replication_ok(const pgb_server_info *i) { return is_info(i) && i->replication_ok; }
int pgb_server_info_in_recovery(const pgb_server_info *i) { return is_info(i) && i->in_recovery; }
const char *pgb_server_info_to_json(const pgb_server_info *i) { return is_info(i) ? i->json : NULL; }
