#include "backup/server_config.h"

#include <stdio.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "repo/file_list.h"

static const char settings_query[] =
    "SELECT name, setting, (SELECT setting FROM pg_settings WHERE name = 'data_directory')"
    " FROM pg_settings WHERE name IN ('config_file', 'hba_file', 'ident_file') ORDER BY name";

static int inside(const char *path, const char *dir)
{
    size_t len = strlen(dir);
    return strncmp(path, dir, len) == 0 && path[len] == '/';
}

static int store_one(struct pgb_repo *repo, PGconn *conn, const char *backup_id, const char *setting,
                     const char *path, json_t *stored)
{
    const char *params[] = {path};
    PGresult *res = PQexecParams(conn, "SELECT pg_read_file($1)", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgb_log(repo->ctx, PGB_LOG_WARNING, "%s (%s) is outside the data directory and cannot be read through SQL "
                "(%s): it is not in the backup", setting, path, PQresultErrorMessage(res));
        PQclear(res);
        return PGB_OK;
    }
    const char *text = PQgetvalue(res, 0, 0);
    char name[64], key[PGB_KEY_SIZE];
    snprintf(name, sizeof(name), "config/%s", setting);
    pgb_backup_content_key(repo, backup_id, name, key);
    struct pgb_object_spec spec = {.codec = 1, .level = 3, .seal = PGB_SEAL_REPOSITORY,
                                   .flags = PGB_STORAGE_NO_OVERWRITE};
    int rc = pgb_object_put(repo->storage, key, &repo->keys, &spec, text, strlen(text), NULL);
    PQclear(res);
    if (rc == PGB_OK)
        json_array_append_new(stored, json_pack("{s:s, s:s}", "setting", setting, "path", path));
    return rc;
}

int pgb_server_config_store(struct pgb_repo *repo, PGconn *conn, const char *backup_id, json_t **stored)
{
    *stored = json_array();
    PGresult *res = PQexec(conn, settings_query);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgb_error_set(repo->ctx, PGB_ECONNECTION, "cannot read the configuration file settings");
        pgb_error_set_detail(repo->ctx, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return PGB_ECONNECTION;
    }
    int rc = PGB_OK;
    for (int i = 0; rc == PGB_OK && i < PQntuples(res); i++) {
        const char *setting = PQgetvalue(res, i, 0), *path = PQgetvalue(res, i, 1), *data = PQgetvalue(res, i, 2);
        /* Files inside the data directory come with the base backup itself. */
        if (!inside(path, data))
            rc = store_one(repo, conn, backup_id, setting, path, *stored);
    }
    PQclear(res);
    return rc;
}
