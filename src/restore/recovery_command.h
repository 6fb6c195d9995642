/*
 * The restore_command a point-in-time restore writes:
 * '<program>' --config '<data dir>/pgbackup-restore.conf' wal-fetch %f %p,
 * where the configuration file names the repository, the cluster and the key
 * files by absolute path. No secret is written: keys and credentials stay in
 * the files they were read from.
 */
#ifndef PGB_RESTORE_RECOVERY_COMMAND_H
#define PGB_RESTORE_RECOVERY_COMMAND_H

#include <pgbackup/options.h>

#include "repo/repo.h"

/*
 * The configuration file's text: repo, cluster, the key files and the
 * storage settings set in opts, paths made absolute.
 *
 * @param text  set to a new string (free())
 * @return 0; PGB_EINVALID when the repository cannot be named for another
 *         process (storage made of callbacks) or an encrypted repository's key
 *         is not in a file (identity or passphrase-file)
 */
int pgb_recovery_fetch_config(struct pgb_repo *repo, const pgb_options *opts, char **text);

/*
 * The restore_command: option "program" (made absolute), else "pgbackup"
 * found on PATH.
 *
 * @param command  set to a new string (free())
 * @return 0, or PGB_EINVALID when no pgbackup program can be found
 */
int pgb_recovery_restore_command(pgb_ctx *ctx, const pgb_options *opts, const char *config_path, char **command);

#endif
