/*
 * Configuration kept outside the data directory (Debian keeps postgresql.conf,
 * pg_hba.conf and pg_ident.conf in /etc/postgresql): found with SHOW, read
 * through SQL so that it works from any host, and stored with the backup.
 */
#ifndef PGB_BACKUP_SERVER_CONFIG_H
#define PGB_BACKUP_SERVER_CONFIG_H

#include <jansson.h>
#include <libpq-fe.h>

#include "repo/repo.h"

/*
 * Store every configuration file that lives outside the data directory as
 * content/<id>/config/<setting> and return what was stored, as a JSON array of
 * {"setting", "path"} in *stored. Files the role may not read are reported in
 * the log and left out (the record says so); they do not fail the backup.
 */
int pgb_server_config_store(struct pgb_repo *repo, PGconn *conn, const char *backup_id, json_t **stored);

#endif
