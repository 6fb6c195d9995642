/*
 * What a restore writes so that the server recovers as planned:
 * recovery.signal, the recovery settings in postgresql.auto.conf, and the
 * pgbackup configuration file restore_command reads. Written after every
 * restored file but before global/pg_control, so that a failure here never
 * leaves a directory that starts.
 */
#ifndef PGB_RESTORE_RECOVERY_CONFIG_H
#define PGB_RESTORE_RECOVERY_CONFIG_H

#include <pgbackup/common.h>

#include "restore/recovery_target.h"

/* Beside the data, the pgbackup settings of restore_command ('--config'). */
#define PGB_RECOVERY_CONFIG_FILE "pgbackup-restore.conf"

struct pgb_recovery_settings {
    const struct pgb_recovery_target *target;
    const char *backup_id;
    int from_archive;            /* write recovery.signal and the recovery settings */
    int archive_off;             /* archive_mode = off */
    int keep_replication;        /* keep primary_conninfo, primary_slot_name and standby.signal */
    const char *restore_command; /* when from_archive */
    const char *fetch_config;    /* content of PGB_RECOVERY_CONFIG_FILE, when from_archive */
};

/*
 * Write the settings into the restored data directory dir: settings the
 * restore manages are removed from postgresql.auto.conf and written anew
 * (every recovery target is set, the unused ones to '', so that a target left
 * in postgresql.conf cannot combine with ours); each file goes through a
 * temporary file, fsync and rename.
 *
 * @return 0 or PGB_EIO naming the file
 */
int pgb_recovery_config_write(pgb_ctx *ctx, const char *dir, const struct pgb_recovery_settings *settings);

/*
 * A value quoted for postgresql.conf: in single quotes, with ' and \ doubled.
 * Returns a new string (free()), or NULL when out of memory.
 */
char *pgb_conf_quote(const char *value);

/* A word quoted for the shell: in single quotes, ' written as '"'"'. New string or NULL. */
char *pgb_shell_quote(const char *word);

#endif
