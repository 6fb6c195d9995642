/*
 * What a physical restore writes besides the backed-up files: the WAL the
 * backup needs (into pg_wal), the server's backup_manifest (so pg_verifybackup
 * can check the result), and the configuration files that lived outside the data directory. All of it is
 * written before the files, whose last is global/pg_control.
 */
#ifndef PGB_RESTORE_RESTORE_EXTRAS_H
#define PGB_RESTORE_RESTORE_EXTRAS_H

#include <jansson.h>

#include "restore/file_restore.h"

int pgb_restore_extras(struct pgb_repo *repo, json_t *record, const char *target, const char *config_to);

#endif
