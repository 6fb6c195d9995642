/*
 * An SSH connection for the SFTP backend: URL and options, TCP connect with a
 * timeout, host key checked against known_hosts (on by default, never
 * skipped), key-based authentication (key file, then the agent), the SFTP
 * channel. One connection per storage handle: libssh2 sessions are not
 * shared between threads.
 */
#ifndef PGB_STORAGE_SFTP_SESSION_H
#define PGB_STORAGE_SFTP_SESSION_H

#include <stdatomic.h>
#include <sys/types.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include <pgbackup/options.h>

struct sftp_config {
    atomic_int references;
    char *url;         /* for messages */
    char *user;
    char *host;        /* without brackets */
    int port;
    char *root;        /* "/srv/backup", or "backup" relative to the login folder (from /~/backup) */
    char *key_file;    /* NULL: the agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa */
    char *known_hosts; /* default ~/.ssh/known_hosts */
    int timeout_seconds;
};

struct sftp_connection {
    pgb_ctx *ctx;
    struct sftp_config *config;
    int socket;
    LIBSSH2_SESSION *session;
    LIBSSH2_SFTP *sftp;
    pid_t pid; /* the process that opened it: a forked child must not write into its parent's session */
};

int sftp_config_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct sftp_config **out);
struct sftp_config *sftp_config_ref(struct sftp_config *config);
void sftp_config_unref(struct sftp_config *config);

/* Connect, check the host key, authenticate and open SFTP; errors go to ctx. */
int sftp_connect(struct sftp_connection *c, pgb_ctx *ctx, struct sftp_config *config);

/* Close (NULL members allowed). */
void sftp_disconnect(struct sftp_connection *c);

/* In a forked child, drop the parent's session (without a word on its socket) and connect anew. */
int sftp_ensure_own(struct sftp_connection *c);

/*
 * Record the failure of an SFTP operation on path: PGB_ENOTFOUND for a
 * missing file, PGB_ECONNECTION when the connection broke or timed out,
 * PGB_EIO otherwise, with the server's status or libssh2's message.
 */
int sftp_fail(struct sftp_connection *c, const char *what, const char *path);

/* libssh2's last SFTP status code (LIBSSH2_FX_*), or 0 when the failure was not an SFTP status. */
unsigned long sftp_status(struct sftp_connection *c);

#endif
