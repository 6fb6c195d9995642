#include "repo/layout.h"

#include <stdio.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pipeline/content_id.h"

static int allowed(char c, int dot_allowed)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || (dot_allowed && c == '.');
}

static int check_name(pgb_ctx *ctx, const char *what, const char *name, int dot_allowed)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 64 || name[0] == '.')
        return pgb_error_set(ctx, PGB_EINVALID, "%s '%s' must be 1 to 64 characters, not starting with '.'",
                             what, name ? name : "");
    for (size_t i = 0; i < len; i++)
        if (!allowed(name[i], dot_allowed))
            return pgb_error_set(ctx, PGB_EINVALID, "%s '%s' may hold only letters, digits, '_', '-'%s", what,
                                 name, dot_allowed ? " and '.'" : "");
    return PGB_OK;
}

int pgb_layout_cluster_dir(pgb_ctx *ctx, const struct pgb_keyset *keys, const char *cluster,
                           char out[PGB_CLUSTER_DIR_SIZE])
{
    int rc = check_name(ctx, "cluster name", cluster, 1);
    if (rc != PGB_OK)
        return rc;
    if (!keys->encrypted) {
        snprintf(out, PGB_CLUSTER_DIR_SIZE, "clusters/%s", cluster);
        return PGB_OK;
    }
    char id[PGB_CONTENT_ID_SIZE];
    rc = pgb_content_id(ctx, keys, "cluster", cluster, strlen(cluster), id);
    if (rc != PGB_OK)
        return rc;
    snprintf(out, PGB_CLUSTER_DIR_SIZE, "clusters/%.32s", id);
    return PGB_OK;
}

int pgb_layout_check_backup_id(pgb_ctx *ctx, const char *id)
{
    return check_name(ctx, "backup id", id, 1);
}
