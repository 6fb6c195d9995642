/*
 * SSH connections for the SFTP backend. The host key must be in known_hosts
 * (sftp-known-hosts, default ~/.ssh/known_hosts): an unknown or changed key
 * is an error that shows the key's SHA-256 fingerprint and how to add it,
 * never a prompt. Authentication is by key only: the sftp-key file, else the
 * SSH agent and the usual key files.
 */
#include "storage/sftp_session.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/base64.h"
#include "core/error.h"
#include "core/option_registry.h"
#include "core/text.h"

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static int ssh_init_result = -1;

static void ssh_init_once(void)
{
    /* libssh2_init is not thread-safe: once per process, guarded by pthread_once. */
    ssh_init_result = libssh2_init(0);
}

static const char *option(const pgb_options *opts, const char *name)
{
    const char *value = NULL;
    if (opts && pgb_options_get(opts, name, &value) == PGB_OK && value)
        return value;
    const struct pgb_option_spec *spec = pgb_option_spec_find(name);
    return spec ? spec->default_value : NULL;
}

static void config_free(struct sftp_config *c)
{
    free(c->url);
    free(c->user);
    free(c->host);
    free(c->root);
    free(c->key_file);
    free(c->known_hosts);
    free(c);
}

static char *home_file(const char *name)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        const struct passwd *me = getpwuid(geteuid());
        home = me ? me->pw_dir : "/";
    }
    return pgb_text_printf("%s/%s", home, name);
}

int sftp_config_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct sftp_config **out)
{
    *out = NULL;
    struct sftp_config *c = calloc(1, sizeof(*c));
    if (!c)
        return pgb_error_nomem(ctx);
    atomic_init(&c->references, 1);
    int rc = PGB_OK;
    c->url = pgb_text_dup(url);
    const char *authority = url + 7; /* after "sftp://" */
    size_t authority_length = strcspn(authority, "/");
    const char *path = authority + authority_length;
    const char *at = memchr(authority, '@', authority_length);
    const char *host = at ? at + 1 : authority;
    size_t host_length = authority_length - (size_t)(host - authority);
    if (at) {
        c->user = pgb_text_printf("%.*s", (int)(at - authority), authority);
    } else {
        const struct passwd *me = getpwuid(geteuid());
        c->user = pgb_text_dup(me ? me->pw_name : "");
    }
    c->port = 22;
    const char *port = NULL;
    if (host_length && host[0] == '[') { /* [::1]:2222 */
        const char *close = memchr(host, ']', host_length);
        if (close) {
            c->host = pgb_text_printf("%.*s", (int)(close - host - 1), host + 1);
            if (close + 1 < host + host_length && close[1] == ':')
                port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', host_length);
        c->host = pgb_text_printf("%.*s", (int)((colon ? colon : host + host_length) - host), host);
        if (colon)
            port = colon + 1;
    }
    if (port) {
        char *end;
        long value = strtol(port, &end, 10);
        if (end != authority + authority_length || value < 1 || value > 65535) {
            rc = pgb_error_set(ctx, PGB_EINVALID, "storage URL %s: the port is not a number from 1 to 65535", url);
            goto done;
        }
        c->port = (int)value;
    }
    if (!c->url || !c->user || !c->host) {
        rc = c->url && c->user ? pgb_error_set(ctx, PGB_EINVALID, "storage URL %s: expected "
                                               "sftp://user@host[:port]/path", url)
                               : pgb_error_nomem(ctx);
        goto done;
    }
    if (!c->host[0] || !c->user[0] || strlen(path) < 2) {
        rc = pgb_error_set(ctx, PGB_EINVALID, "storage URL %s: expected sftp://user@host[:port]/path (a path of "
                           "its own, /~/name for one in the login folder)", url);
        goto done;
    }
    /* /~/backup is relative to the login folder, as scp and sftp write it. */
    c->root = strncmp(path, "/~/", 3) == 0 ? pgb_text_dup(path + 3) : pgb_text_dup(path);
    size_t root_length = c->root ? strlen(c->root) : 0;
    while (root_length > 1 && c->root[root_length - 1] == '/')
        c->root[--root_length] = '\0';
    const char *key = option(opts, "sftp-key");
    const char *known = option(opts, "sftp-known-hosts");
    c->key_file = key ? pgb_text_dup(key) : NULL;
    c->known_hosts = known ? pgb_text_dup(known) : home_file(".ssh/known_hosts");
    const char *timeout = option(opts, "storage-timeout");
    c->timeout_seconds = timeout ? atoi(timeout) : 300;
    if (!c->root || !c->known_hosts || (key && !c->key_file))
        rc = pgb_error_nomem(ctx);
done:
    if (rc != PGB_OK)
        config_free(c);
    else
        *out = c;
    return rc;
}

struct sftp_config *sftp_config_ref(struct sftp_config *config)
{
    atomic_fetch_add(&config->references, 1);
    return config;
}

void sftp_config_unref(struct sftp_config *config)
{
    if (config && atomic_fetch_sub(&config->references, 1) == 1)
        config_free(config);
}

/* ---- connecting ---- */

static const char *session_message(LIBSSH2_SESSION *session)
{
    char *message = NULL;
    int length = 0;
    if (!session)
        return "no session";
    libssh2_session_last_error(session, &message, &length, 0);
    return message && *message ? message : "unknown error";
}

static int tcp_connect(struct sftp_connection *c)
{
    const struct sftp_config *config = c->config;
    char port[8];
    snprintf(port, sizeof(port), "%d", config->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *found = NULL;
    int gai = getaddrinfo(config->host, port, &hints, &found);
    if (gai != 0)
        return pgb_error_set(c->ctx, PGB_ECONNECTION, "storage %s: cannot resolve %s: %s", config->url, config->host,
                             gai_strerror(gai));
    int saved = 0;
    for (struct addrinfo *a = found; a && c->socket < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        /* A connect that hangs (a dropped SYN) must end within the timeout too. */
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int wait_ms = (config->timeout_seconds < 10 ? config->timeout_seconds : 10) * 1000;
            int error = 0;
            socklen_t length = sizeof(error);
            if (poll(&p, 1, wait_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && !error)
                rc = 0;
            else
                errno = error ? error : ETIMEDOUT;
        }
        if (rc == 0) {
            fcntl(fd, F_SETFL, flags);
            c->socket = fd;
        } else {
            saved = errno;
            close(fd);
        }
    }
    freeaddrinfo(found);
    if (c->socket < 0)
        return pgb_error_set(c->ctx, PGB_ECONNECTION, "storage %s: cannot connect to %s port %d: %s", config->url,
                             config->host, config->port, strerror(saved ? saved : ECONNREFUSED));
    return PGB_OK;
}

/* Prefer the host key types known_hosts holds for this host, so that the check can match. */
static void prefer_known_key_types(struct sftp_connection *c, LIBSSH2_KNOWNHOSTS *known)
{
    char bracketed[300];
    snprintf(bracketed, sizeof(bracketed), "[%s]:%d", c->config->host, c->config->port);
    const char *wanted = c->config->port == 22 ? c->config->host : bracketed;
    char methods[256] = "";
    struct libssh2_knownhost *entry = NULL;
    while (libssh2_knownhost_get(known, &entry, entry) == 0) {
        if (!entry->name || strcmp(entry->name, wanted) != 0)
            continue;
        const char *type = NULL;
        switch (entry->typemask & LIBSSH2_KNOWNHOST_KEY_MASK) {
        case LIBSSH2_KNOWNHOST_KEY_ED25519: type = "ssh-ed25519"; break;
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_256: type = "ecdsa-sha2-nistp256"; break;
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_384: type = "ecdsa-sha2-nistp384"; break;
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_521: type = "ecdsa-sha2-nistp521"; break;
        case LIBSSH2_KNOWNHOST_KEY_SSHRSA: type = "rsa-sha2-512,rsa-sha2-256,ssh-rsa"; break;
        default: break;
        }
        if (type && !strstr(methods, type) && strlen(methods) + strlen(type) + 2 < sizeof(methods)) {
            if (methods[0])
                strcat(methods, ",");
            strcat(methods, type);
        }
    }
    if (methods[0])
        libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY, methods);
}

static int check_host_key(struct sftp_connection *c, LIBSSH2_KNOWNHOSTS *known, int loaded)
{
    const struct sftp_config *config = c->config;
    size_t length = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(c->session, &length, &type);
    const char *hash = libssh2_hostkey_hash(c->session, LIBSSH2_HOSTKEY_HASH_SHA256);
    char *fingerprint = hash ? pgb_base64_encode((const uint8_t *)hash, 32) : NULL;
    if (fingerprint) { /* as OpenSSH shows it: without padding */
        size_t n = strlen(fingerprint);
        while (n && fingerprint[n - 1] == '=')
            fingerprint[--n] = '\0';
    }
    int rc = PGB_OK;
    struct libssh2_knownhost *found = NULL;
    int check = key && loaded ? libssh2_knownhost_checkp(known, config->host, config->port, key, length,
                                                         LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW,
                                                         &found)
                              : LIBSSH2_KNOWNHOST_CHECK_NOTFOUND;
    if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
        rc = pgb_error_set(c->ctx, PGB_EAUTH, "storage %s: the host key of %s port %d (SHA256:%s) does not match "
                           "%s: refusing to connect (the key changed, or someone is in the middle)", config->url,
                           config->host, config->port, fingerprint ? fingerprint : "?", config->known_hosts);
    else if (check != LIBSSH2_KNOWNHOST_CHECK_MATCH)
        rc = pgb_error_set(c->ctx, PGB_EAUTH, "storage %s: %s port %d (host key SHA256:%s) is not in %s: check "
                           "the fingerprint, then add it (ssh-keyscan -p %d %s >> %s)", config->url, config->host,
                           config->port, fingerprint ? fingerprint : "?", config->known_hosts, config->port,
                           config->host, config->known_hosts);
    free(fingerprint);
    return rc;
}

static int authenticate(struct sftp_connection *c)
{
    const struct sftp_config *config = c->config;
    LIBSSH2_SESSION *s = c->session;
    unsigned user_length = (unsigned)strlen(config->user);
    char tried[512] = "";
    if (config->key_file) {
        if (libssh2_userauth_publickey_fromfile_ex(s, config->user, user_length, NULL, config->key_file, NULL) == 0)
            return PGB_OK;
        snprintf(tried, sizeof(tried), "key %s: %s", config->key_file, session_message(s));
    }
    if (getenv("SSH_AUTH_SOCK")) {
        LIBSSH2_AGENT *agent = libssh2_agent_init(s);
        int ok = 0;
        if (agent && libssh2_agent_connect(agent) == 0 && libssh2_agent_list_identities(agent) == 0) {
            struct libssh2_agent_publickey *identity = NULL;
            while (!ok && libssh2_agent_get_identity(agent, &identity, identity) == 0)
                ok = libssh2_agent_userauth(agent, config->user, identity) == 0;
            libssh2_agent_disconnect(agent);
        }
        if (agent)
            libssh2_agent_free(agent);
        if (ok)
            return PGB_OK;
        snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%sthe SSH agent", tried[0] ? "; " : "");
    }
    if (!config->key_file) {
        static const char *const defaults[] = {".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa"};
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
            char *file = home_file(defaults[i]);
            int ok = file && access(file, R_OK) == 0 &&
                     libssh2_userauth_publickey_fromfile_ex(s, config->user, user_length, NULL, file, NULL) == 0;
            if (file && access(file, R_OK) == 0)
                snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%skey %s", tried[0] ? "; " : "",
                         file);
            free(file);
            if (ok)
                return PGB_OK;
        }
    }
    return pgb_error_set(c->ctx, PGB_EAUTH, "storage %s: authentication as %s failed (tried %s): give a key "
                         "with --sftp-key or load one into the SSH agent", config->url, config->user,
                         tried[0] ? tried : "nothing: no --sftp-key, no agent, no key in ~/.ssh");
}

int sftp_connect(struct sftp_connection *c, pgb_ctx *ctx, struct sftp_config *config)
{
    *c = (struct sftp_connection){.ctx = ctx, .config = sftp_config_ref(config), .socket = -1, .pid = getpid()};
    pthread_once(&ssh_once, ssh_init_once);
    if (ssh_init_result != 0)
        return pgb_error_set(ctx, PGB_ERROR, "cannot initialise libssh2");
    int rc = tcp_connect(c);
    if (rc != PGB_OK)
        return rc;
    c->session = libssh2_session_init();
    if (!c->session)
        return pgb_error_nomem(ctx);
    libssh2_session_set_blocking(c->session, 1);
    /* Every blocking call ends within the timeout: a stuck server is an error, not a hang. */
    libssh2_session_set_timeout(c->session, (long)config->timeout_seconds * 1000);
    LIBSSH2_KNOWNHOSTS *known = libssh2_knownhost_init(c->session);
    int loaded = known && libssh2_knownhost_readfile(known, config->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) >= 0;
    if (loaded)
        prefer_known_key_types(c, known);
    if (libssh2_session_handshake(c->session, c->socket) != 0)
        rc = pgb_error_set(ctx, PGB_ECONNECTION, "storage %s: SSH handshake with %s port %d failed: %s", config->url,
                           config->host, config->port, session_message(c->session));
    else if (!loaded && access(config->known_hosts, R_OK) != 0)
        rc = pgb_error_set(ctx, PGB_EAUTH, "storage %s: cannot read known hosts file %s: %s (host keys are always "
                           "checked; --sftp-known-hosts names another file)", config->url, config->known_hosts,
                           strerror(errno));
    else
        rc = check_host_key(c, known, loaded);
    if (known)
        libssh2_knownhost_free(known);
    if (rc == PGB_OK)
        rc = authenticate(c);
    if (rc == PGB_OK && !(c->sftp = libssh2_sftp_init(c->session)))
        rc = pgb_error_set(ctx, PGB_ECONNECTION, "storage %s: cannot start SFTP on %s: %s", config->url,
                           config->host, session_message(c->session));
    return rc;
}

void sftp_disconnect(struct sftp_connection *c)
{
    if (c->pid == getpid()) { /* never speak on a session a forked child inherited */
        if (c->sftp)
            libssh2_sftp_shutdown(c->sftp);
        if (c->session) {
            libssh2_session_disconnect(c->session, "done");
            libssh2_session_free(c->session);
        }
    }
    if (c->socket >= 0)
        close(c->socket);
    sftp_config_unref(c->config);
    *c = (struct sftp_connection){.socket = -1};
}

int sftp_ensure_own(struct sftp_connection *c)
{
    if (c->pid == getpid())
        return PGB_OK;
    /* The parent's session state (keys, sequence numbers) must stay the parent's: abandon it here. */
    if (c->socket >= 0)
        close(c->socket);
    pgb_ctx *ctx = c->ctx;
    struct sftp_config *config = c->config;
    int rc = sftp_connect(c, ctx, config);
    sftp_config_unref(config); /* sftp_connect took its own reference */
    return rc;
}

unsigned long sftp_status(struct sftp_connection *c)
{
    if (!c->session || libssh2_session_last_errno(c->session) != LIBSSH2_ERROR_SFTP_PROTOCOL)
        return 0;
    return c->sftp ? libssh2_sftp_last_error(c->sftp) : 0;
}

static const char *status_text(unsigned long status)
{
    switch (status) {
    case LIBSSH2_FX_NO_SUCH_FILE: return "no such file";
    case LIBSSH2_FX_PERMISSION_DENIED: return "permission denied";
    case LIBSSH2_FX_FAILURE: return "failure";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space left on the server";
    case LIBSSH2_FX_QUOTA_EXCEEDED: return "quota exceeded";
    case LIBSSH2_FX_NO_SUCH_PATH: return "no such path";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS: return "file exists";
    case LIBSSH2_FX_OP_UNSUPPORTED: return "operation not supported by the server";
    default: return "error";
    }
}

int sftp_fail(struct sftp_connection *c, const char *what, const char *path)
{
    const struct sftp_config *config = c->config;
    unsigned long status = sftp_status(c);
    if (status == LIBSSH2_FX_NO_SUCH_FILE || status == LIBSSH2_FX_NO_SUCH_PATH)
        return pgb_error_set(c->ctx, PGB_ENOTFOUND, "storage %s: cannot %s %s: no such file", config->url, what,
                             path);
    if (status)
        return pgb_error_set(c->ctx, PGB_EIO, "storage %s: cannot %s %s: %s (SFTP status %lu)", config->url, what,
                             path, status_text(status), status);
    return pgb_error_set(c->ctx, PGB_ECONNECTION, "storage %s: cannot %s %s: the connection to %s port %d broke "
                         "or timed out (%s)", config->url, what, path, config->host, config->port,
                         session_message(c->session));
}
