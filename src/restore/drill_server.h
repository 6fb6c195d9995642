/*
 * The scratch server of a drill: settings that keep it from reaching out,
 * starting and stopping it as an unprivileged user, waiting until it has
 * recovered to the target and promoted.
 */
#ifndef PGB_RESTORE_DRILL_SERVER_H
#define PGB_RESTORE_DRILL_SERVER_H

#include <sys/types.h>

#include <pgbackup/common.h>

struct pgb_drill_server {
    char bindir[512];
    char data[512];   /* the restored data directory */
    char socket[512]; /* the private socket folder (the scratch folder) */
    char log[600];
    int port;
    int run_as_other; /* start and stop as uid/gid (the caller is root) */
    uid_t uid;
    gid_t gid;
};

/*
 * The server programs: bindir if given, else Debian's folder of the major
 * version, else `pg_config --bindir`; pg_ctl must be there.
 * @return 0 or PGB_ENOTFOUND naming where it looked
 */
int pgb_drill_find_bindir(pgb_ctx *ctx, const char *bindir, int major, char out[512]);

/*
 * Append the drill's settings to postgresql.auto.conf and write its own
 * pg_hba.conf (local trust only), pick a free loopback port.
 */
int pgb_drill_server_configure(pgb_ctx *ctx, struct pgb_drill_server *s);

/* Give the scratch folder to the user the server runs as (when root). */
int pgb_drill_server_chown(pgb_ctx *ctx, const char *folder, const struct pgb_drill_server *s);

/* initdb of an empty scratch cluster in data (logical drills restore into it). PGB_EIO with its output. */
int pgb_drill_server_initdb(pgb_ctx *ctx, const struct pgb_drill_server *s);

/* pg_ctl start (not waiting: recovery may take long). PGB_EIO with pg_ctl's output on failure. */
int pgb_drill_server_start(pgb_ctx *ctx, const struct pgb_drill_server *s);

/*
 * Wait until the server accepts connections as role and has left recovery,
 * or timeout_s passes, or it stops (then the message holds the end of its log).
 * @param conninfo  set to the conninfo that reached it (database postgres)
 */
int pgb_drill_server_wait_promoted(pgb_ctx *ctx, const struct pgb_drill_server *s, const char *const *roles,
                                   int timeout_s, char conninfo[1024]);

/* Stop the server (fast, then immediate); harmless when it is not running. */
void pgb_drill_server_stop(const struct pgb_drill_server *s);

/* The last lines of the server's log, for messages (a new string or NULL). */
char *pgb_drill_server_log_tail(const struct pgb_drill_server *s, int lines);

/* Remove a folder and everything under it. */
int pgb_drill_remove_tree(const char *folder);

#endif
