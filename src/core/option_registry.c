#include "core/option_registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const uri_styles[] = {"host", "path", NULL};
static const char *const s3_sse_modes[] = {"none", "AES256", "aws:kms", NULL};
static const char *const s3_object_lock_modes[] = {"none", "governance", "compliance", NULL};
static const char *const s3_conditional_modes[] = {"auto", "yes", "no", NULL};
static const char *const compress_algorithms[] = {"zstd", "lz4", "gzip", "none", NULL};
static const char *const backup_types[] = {"physical", "logical", "globals", NULL};
static const char *const backup_modes[] = {"stream", "local", NULL};
static const char *const checkpoint_modes[] = {"fast", "spread", NULL};
static const char *const recovery_targets[] = {"latest", "immediate", NULL};
static const char *const target_actions[] = {"pause", "promote", "shutdown", NULL};
static const char *const archive_modes[] = {"preserve", "off", NULL};
static const char *const drill_kinds[] = {"physical", "logical", NULL};

/* Keep in the order of ../shared/CLI.md; help lines are shown by `pgbackup --help`. */
const struct pgb_option_spec pgb_option_registry[] = {
    {"config", PGB_OPTION_PATH, NULL, "FILE", "read options from this INI file", NULL, 0, 0},
    {"repo", PGB_OPTION_STRING, NULL, "URL",
     "repository: a path, file:///path, s3://bucket/prefix or sftp://user@host/path", NULL, 0, 0},
    {"cluster", PGB_OPTION_STRING, "main", "NAME", "cluster name inside the repository", NULL, 0, 0},
    {"pg", PGB_OPTION_STRING, NULL, "CONNINFO",
     "libpq connection string; unset parts come from PG* variables and .pgpass", NULL, 0, 0},
    {"pgdata", PGB_OPTION_PATH, NULL, "DIR", "the cluster's data directory", NULL, 0, 0},
    {"pg-bindir", PGB_OPTION_PATH, NULL, "DIR",
     "where the PostgreSQL programs are (default: pg_config --bindir)", NULL, 0, 0},
    {"passphrase-file", PGB_OPTION_PATH, NULL, "FILE", "repository passphrase (symmetric encryption)",
     NULL, 0, 0},
    {"recipient", PGB_OPTION_LIST, NULL, "FILE", "public key that backups are encrypted to (repeatable)",
     NULL, 0, 0},
    {"identity", PGB_OPTION_PATH, NULL, "FILE", "private key used to decrypt for restore, verify, drill",
     NULL, 0, 0},
    {"writer-key", PGB_OPTION_PATH, NULL, "FILE", "with recipients: the writing host's own key", NULL, 0,
     0},
    {"compress", PGB_OPTION_COMPRESS, "zstd:3", "ALGO[:LEVEL]", "zstd, lz4, gzip or none, with a level",
     compress_algorithms, 0, 0},
    {"jobs", PGB_OPTION_INTEGER, "1", "N", "parallel workers", NULL, 1, 256},
    {"json", PGB_OPTION_BOOLEAN, "false", NULL, "machine-readable output on stdout (one JSON document)",
     NULL, 0, 0},
    {"progress", PGB_OPTION_BOOLEAN, NULL, NULL, "progress bars (default: on when stderr is a terminal)",
     NULL, 0, 0},
    {"log-level", PGB_OPTION_CHOICE, "info", "LEVEL", "error, warning, info or debug", log_levels, 0, 0},
    {"s3-endpoint", PGB_OPTION_STRING, NULL, "URL", "S3-compatible endpoint", NULL, 0, 0},
    {"s3-region", PGB_OPTION_STRING, "us-east-1", "NAME", "S3 signing region", NULL, 0, 0},
    {"s3-uri-style", PGB_OPTION_CHOICE, "host", "host|path", "virtual-hosted or path-style addressing",
     uri_styles, 0, 0},
    {"s3-ca-file", PGB_OPTION_PATH, NULL, "FILE", "CA bundle for TLS to S3", NULL, 0, 0},
    {"s3-no-verify-tls", PGB_OPTION_BOOLEAN, "false", NULL, "skip TLS certificate verification for S3",
     NULL, 0, 0},
    {"sftp-key", PGB_OPTION_PATH, NULL, "FILE", "SFTP private key", NULL, 0, 0},
    {"sftp-known-hosts", PGB_OPTION_PATH, NULL, "FILE", "SFTP known hosts file", NULL, 0, 0},
    {"s3-credentials-file", PGB_OPTION_PATH, NULL, "FILE",
     "S3 credentials file, AWS format (default $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)", NULL, 0, 0},
    {"s3-profile", PGB_OPTION_STRING, NULL, "NAME", "profile of the S3 credentials file (default $AWS_PROFILE, else "
     "default)", NULL, 0, 0},
    {"s3-storage-class", PGB_OPTION_STRING, NULL, "CLASS", "S3 storage class of written objects (STANDARD_IA...)",
     NULL, 0, 0},
    {"s3-sse", PGB_OPTION_CHOICE, "none", "none|AES256|aws:kms", "S3 server-side encryption of written objects",
     s3_sse_modes, 0, 0},
    {"s3-sse-kms-key-id", PGB_OPTION_STRING, NULL, "KEY", "with --s3-sse aws:kms: the KMS key", NULL, 0, 0},
    {"s3-object-lock", PGB_OPTION_CHOICE, "none", "none|governance|compliance",
     "S3 Object Lock retention mode of committed objects (the bucket must have Object Lock enabled)",
     s3_object_lock_modes, 0, 0},
    {"s3-object-lock-days", PGB_OPTION_INTEGER, "30", "DAYS", "with --s3-object-lock: days each object is retained",
     NULL, 1, 36500},
    {"s3-part-size", PGB_OPTION_INTEGER, "16", "MIB", "S3 multipart upload part size; larger objects go in parts",
     NULL, 5, 5120},
    {"s3-upload-parallel", PGB_OPTION_INTEGER, "4", "N", "S3 multipart parts uploaded at once per object", NULL, 1,
     64},
    {"s3-conditional-write", PGB_OPTION_CHOICE, "auto", "auto|yes|no",
     "create-only writes with If-None-Match (yes), with a lease (no), or as the server supports (auto)",
     s3_conditional_modes, 0, 0},
    {"storage-timeout", PGB_OPTION_INTEGER, "300", "SECONDS",
     "S3 and SFTP: longest time one storage operation may take, retries included", NULL, 1, 86400},
    {"type", PGB_OPTION_CHOICE, "physical", "TYPE", "backup or restore type: physical, logical, globals",
     backup_types, 0, 0},
    {"mode", PGB_OPTION_CHOICE, "stream", "MODE",
     "physical backup mode: stream (BASE_BACKUP, any host) or local (on the database host)", backup_modes, 0, 0},
    {"incremental", PGB_OPTION_BOOLEAN, "false", NULL, "store only what changed since the newest physical backup",
     NULL, 0, 0},
    {"label", PGB_OPTION_STRING, NULL, "TEXT", "backup label (default: pgbackup and the backup id)", NULL, 0, 0},
    {"checkpoint", PGB_OPTION_CHOICE, "spread", "fast|spread", "checkpoint at the start of a physical backup",
     checkpoint_modes, 0, 0},
    {"allow-bad-pages", PGB_OPTION_BOOLEAN, "false", NULL,
     "local physical backup: commit even when data pages fail their checksum (the record lists them)", NULL, 0, 0},
    {"db", PGB_OPTION_LIST, NULL, "NAME",
     "logical backup: a database to dump (repeatable; default every connectable one); logical restore: the "
     "database of the backup to restore", NULL, 0, 0},
    {"clean", PGB_OPTION_BOOLEAN, "false", NULL,
     "logical restore: drop the objects (with --create: the database) before restoring them", NULL, 0, 0},
    {"create", PGB_OPTION_BOOLEAN, "false", NULL,
     "logical restore: create the database, with the recorded encoding, locale, owner, grants and settings", NULL,
     0, 0},
    {"target-db", PGB_OPTION_STRING, NULL, "NAME", "logical restore: restore into this database (default: --db)",
     NULL, 0, 0},
    {"table", PGB_OPTION_LIST, NULL, "SCHEMA.TABLE",
     "logical restore: only this table, whole, and what a DROP CASCADE of it removed (repeatable)", NULL, 0, 0},
    {"schema", PGB_OPTION_LIST, NULL, "NAME", "logical restore: only the objects of this schema (repeatable)", NULL,
     0, 0},
    {"analyze", PGB_OPTION_BOOLEAN, "true", NULL, "logical restore: ANALYZE what was restored", NULL, 0, 0},
    {"contents", PGB_OPTION_STRING, NULL, "ID", "list: the objects of this logical backup instead of the backups",
     NULL, 0, 0},
    {"backup", PGB_OPTION_STRING, NULL, "ID", "backup id (restore, verify; default: the newest)", NULL, 0, 0},
    {"to", PGB_OPTION_PATH, NULL, "DIR", "restore into this folder (empty or absent)", NULL, 0, 0},
    {"delta", PGB_OPTION_BOOLEAN, "false", NULL, "restore: reuse files already present whose checksum matches",
     NULL, 0, 0},
    {"tablespace-map", PGB_OPTION_LIST, NULL, "OLD=NEW", "restore: put tablespace OLD (location or oid) at NEW",
     NULL, 0, 0},
    {"config-to", PGB_OPTION_PATH, NULL, "DIR",
     "restore: where configuration files kept outside the data directory go", NULL, 0, 0},
    {"target", PGB_OPTION_CHOICE, NULL, "latest|immediate",
     "restore: replay the whole archive (latest) or stop at the backup's consistent point (immediate)",
     recovery_targets, 0, 0},
    {"target-time", PGB_OPTION_STRING, NULL, "TIME", "restore: stop at this time (ISO 8601 with an offset)", NULL,
     0, 0},
    {"target-lsn", PGB_OPTION_STRING, NULL, "LSN", "restore: stop at this WAL position", NULL, 0, 0},
    {"target-xid", PGB_OPTION_STRING, NULL, "XID", "restore: stop at the commit of this transaction", NULL, 0, 0},
    {"target-name", PGB_OPTION_STRING, NULL, "NAME", "restore: stop at this restore point", NULL, 0, 0},
    {"target-inclusive", PGB_OPTION_BOOLEAN, "true", NULL,
     "restore: stop just after the target (true) or just before it (false)", NULL, 0, 0},
    {"target-timeline", PGB_OPTION_STRING, "latest", "latest|current|N",
     "restore: the timeline to follow (latest, the backup's own, or a number)", NULL, 0, 0},
    {"target-action", PGB_OPTION_CHOICE, "pause", "pause|promote|shutdown",
     "restore: what the server does once it reaches the target", target_actions, 0, 0},
    {"archive-mode", PGB_OPTION_CHOICE, "preserve", "preserve|off",
     "restore: keep the restored cluster's WAL archiving (preserve) or turn it off", archive_modes, 0, 0},
    {"keep-replication", PGB_OPTION_BOOLEAN, "false", NULL,
     "restore: keep primary_conninfo and primary_slot_name inherited from a standby's backup", NULL, 0, 0},
    {"program", PGB_OPTION_PATH, NULL, "FILE",
     "restore: the pgbackup program restore_command runs (default: this one, or pgbackup on PATH)", NULL, 0, 0},
    {"rpo", PGB_OPTION_STRING, NULL, "DURATION", "policy: recovery point objective (90s, 15min, 1h, 7d; none)",
     NULL, 0, 0},
    {"rto", PGB_OPTION_STRING, NULL, "DURATION", "policy: recovery time objective, measured by drills", NULL, 0, 0},
    {"require", PGB_OPTION_LIST, NULL, "PATH",
     "policy: a restore path that must work: full-logical, selective, full-cluster, pitr, globals (repeatable)",
     NULL, 0, 0},
    {"keep-full", PGB_OPTION_STRING, NULL, "N", "policy: full backups to keep (none: no limit)", NULL, 0, 0},
    {"keep-age", PGB_OPTION_STRING, NULL, "DURATION", "policy: keep backups younger than this", NULL, 0, 0},
    {"pitr-window", PGB_OPTION_STRING, NULL, "DURATION",
     "policy: how far back point-in-time recovery must reach (7d)", NULL, 0, 0},
    {"drill-every", PGB_OPTION_STRING, NULL, "DURATION", "policy: restore drill cadence", NULL, 0, 0},
    {"physical-every", PGB_OPTION_STRING, NULL, "DURATION", "policy: physical backup cadence", NULL, 0, 0},
    {"logical-every", PGB_OPTION_STRING, NULL, "DURATION", "policy: logical backup cadence", NULL, 0, 0},
    {"globals-every", PGB_OPTION_STRING, NULL, "DURATION", "policy: globals backup cadence", NULL, 0, 0},
    {"probe", PGB_OPTION_LIST, NULL, "'SQL [=> EXPECTED]'",
     "drill: a query run on the restored server; fails on an error or another first value (repeatable)", NULL, 0,
     0},
    {"kind", PGB_OPTION_CHOICE, "physical", "physical|logical", "drill: the kind of backup to restore", drill_kinds,
     0, 0},
    {"drill-user", PGB_OPTION_STRING, NULL, "USER",
     "drill: the unprivileged user that runs the scratch server when pgbackup runs as root", NULL, 0, 0},
    {"drill-role", PGB_OPTION_STRING, NULL, "ROLE",
     "drill: the role to connect as (default postgres, else the user's name)", NULL, 0, 0},
    {"scratch-dir", PGB_OPTION_PATH, NULL, "DIR", "drill: where the scratch folder is made (default $TMPDIR, /tmp)",
     NULL, 0, 0},
    {"drill-timeout", PGB_OPTION_INTEGER, "3600", "SECONDS",
     "drill: how long the scratch server may take to recover to the target", NULL, 1, 604800},
    {"format", PGB_OPTION_STRING, NULL, "FORMAT",
     "logical backup: custom or directory; status: text, json, prometheus or nagios", NULL, 0, 0},
    {"as-of", PGB_OPTION_STRING, NULL, "TIME", "expire: judge ages as of this time (what-if planning)", NULL, 0,
     0},
    {"dry-run", PGB_OPTION_BOOLEAN, "false", NULL, "show what would be done, do nothing", NULL, 0, 0},
    {"all", PGB_OPTION_BOOLEAN, "false", NULL, "verify: every backup", NULL, 0, 0},
    {"slot", PGB_OPTION_STRING, NULL, "NAME",
     "wal-receive: the physical replication slot, made if missing (default pgbackup_<cluster>)", NULL, 0, 0},
    {"status-interval", PGB_OPTION_INTEGER, "10", "SECONDS",
     "wal-receive: seconds between status updates to the server", NULL, 1, 3600},
    {"partial-interval", PGB_OPTION_INTEGER, "1000", "MS",
     "wal-receive: store the unfinished segment at most this often while WAL flows, and when it pauses (0: at "
     "every pause)", NULL, 0, 600000},
    {"output", PGB_OPTION_PATH, NULL, "FILE", "where a command writes its result (keygen, runbook)", NULL, 0, 0},
    {"push-ahead", PGB_OPTION_INTEGER, NULL, "N",
     "wal-push with --jobs 2 or more: push up to N ready segments after PATH in parallel (default 4 x jobs)", NULL,
     1, 4096},
    {"prefetch", PGB_OPTION_INTEGER, NULL, "N",
     "wal-fetch: fetch the N segments after the requested one into the spool (wal-fetch default 8, library 0)",
     NULL, 0, 256},
    {"spool-dir", PGB_OPTION_PATH, NULL, "DIR",
     "wal-push and wal-fetch: push-ahead markers and prefetched segments, on pg_wal's filesystem (default: "
     "pgbackup.spool in pg_wal)", NULL, 0, 0},
};

const size_t pgb_option_registry_size = sizeof(pgb_option_registry) / sizeof(pgb_option_registry[0]);

/* Names match with "-" and "_" alike and in any case, so env and INI spellings work. */
static int names_match(const char *spec_name, const char *name)
{
    for (; *spec_name && *name; spec_name++, name++) {
        char a = *spec_name, b = *name;
        if (b == '_')
            b = '-';
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return *spec_name == *name;
}

const struct pgb_option_spec *pgb_option_spec_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < pgb_option_registry_size; i++)
        if (names_match(pgb_option_registry[i].name, name))
            return &pgb_option_registry[i];
    return NULL;
}

const char *pgb_option_closest(const char *name)
{
    char normal[64];
    size_t len = strlen(name);
    if (len >= sizeof(normal))
        return NULL;
    for (size_t i = 0; i <= len; i++) {
        char c = name[i];
        normal[i] = c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    const char *best = NULL;
    size_t best_distance = 0;
    for (size_t i = 0; i < pgb_option_registry_size; i++) {
        size_t d = pgb_text_edit_distance(normal, pgb_option_registry[i].name);
        if (!best || d < best_distance) {
            best = pgb_option_registry[i].name;
            best_distance = d;
        }
    }
    /* Only a near miss is a useful suggestion: a third of the word may differ. */
    size_t allowed = len / 3 > 2 ? len / 3 : 2;
    return best_distance <= allowed ? best : NULL;
}

int pgb_option_parse_bool(const char *value)
{
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (pgb_text_equal_nocase(value, yes[i]))
            return 1;
        if (pgb_text_equal_nocase(value, no[i]))
            return 0;
    }
    return -1;
}

static int parse_integer(const char *value, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0')
        return -1;
    *out = (int64_t)n;
    return 0;
}

static void join_choices(const char *const *choices, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; choices[i] && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", choices[i]);
}

static int check_compress(const struct pgb_option_spec *spec, const char *value, char *reason,
                          size_t size)
{
    static const int max_level[] = {22, 12, 9, 0}; /* zstd, lz4 (HC), gzip, none */
    const char *colon = strchr(value, ':');
    size_t name_len = colon ? (size_t)(colon - value) : strlen(value);
    for (size_t i = 0; spec->choices[i]; i++) {
        if (strlen(spec->choices[i]) != name_len || strncmp(spec->choices[i], value, name_len) != 0)
            continue;
        if (!colon)
            return 0;
        int64_t level;
        if (parse_integer(colon + 1, &level) != 0 || level < (max_level[i] ? 1 : 0) ||
            level > max_level[i]) {
            snprintf(reason, size, "%s takes a level from %d to %d", spec->choices[i],
                     max_level[i] ? 1 : 0, max_level[i]);
            return -1;
        }
        return 0;
    }
    char names[128];
    join_choices(spec->choices, names, sizeof(names));
    snprintf(reason, size, "expected ALGORITHM[:LEVEL] with ALGORITHM one of %s", names);
    return -1;
}

int pgb_option_check(const struct pgb_option_spec *spec, const char *value, char *reason,
                     size_t size)
{
    if (!value) {
        snprintf(reason, size, "a value is required");
        return -1;
    }
    switch (spec->type) {
    case PGB_OPTION_STRING:
    case PGB_OPTION_PATH:
    case PGB_OPTION_LIST:
        if (value[0] == '\0') {
            snprintf(reason, size, "expected a non-empty %s", spec->value_hint ? spec->value_hint : "value");
            return -1;
        }
        return 0;
    case PGB_OPTION_INTEGER: {
        int64_t n;
        if (parse_integer(value, &n) != 0 || n < spec->min || n > spec->max) {
            snprintf(reason, size, "expected a whole number from %lld to %lld", (long long)spec->min,
                     (long long)spec->max);
            return -1;
        }
        return 0;
    }
    case PGB_OPTION_BOOLEAN:
        if (pgb_option_parse_bool(value) < 0) {
            snprintf(reason, size, "expected true/false, on/off, yes/no or 1/0");
            return -1;
        }
        return 0;
    case PGB_OPTION_CHOICE:
        for (size_t i = 0; spec->choices[i]; i++)
            if (strcmp(spec->choices[i], value) == 0)
                return 0;
        {
            char names[128];
            join_choices(spec->choices, names, sizeof(names));
            snprintf(reason, size, "expected one of %s", names);
        }
        return -1;
    case PGB_OPTION_COMPRESS:
        return check_compress(spec, value, reason, size);
    default:
        snprintf(reason, size, "option has an unknown type");
        return -1;
    }
}
