/*
 * Recovery settings (postgres-internals.md section 10): PostgreSQL reads
 * postgresql.auto.conf after postgresql.conf, the last setting of a name wins,
 * and recovery.signal asks for targeted archive recovery.
 */
#include "restore/recovery_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"

static const char *const recovery_settings[] = {"restore_command",         "recovery_target",
                                                "recovery_target_lsn",     "recovery_target_name",
                                                "recovery_target_time",    "recovery_target_xid",
                                                "recovery_target_inclusive", "recovery_target_timeline",
                                                "recovery_target_action",  NULL};
static const char *const replication_settings[] = {"primary_conninfo", "primary_slot_name", NULL};

char *pgb_conf_quote(const char *value)
{
    size_t len = strlen(value);
    char *out = malloc(2 * len + 3), *w = out;
    if (!out)
        return NULL;
    *w++ = '\'';
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            *w++ = *p;
        *w++ = *p;
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

char *pgb_shell_quote(const char *word)
{
    size_t len = strlen(word);
    char *out = malloc(5 * len + 3), *w = out;
    if (!out)
        return NULL;
    *w++ = '\'';
    for (const char *p = word; *p; p++) {
        if (*p == '\'') {
            memcpy(w, "'\"'\"'", 5);
            w += 5;
        } else {
            *w++ = *p;
        }
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

static int in_list(const char *const *list, const char *name, size_t len)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], name, len) == 0)
            return 1;
    return 0;
}

/* Whether line sets a setting this restore manages. */
static int managed(const struct pgb_recovery_settings *s, const char *line)
{
    while (isspace((unsigned char)*line))
        line++;
    size_t len = 0;
    while (isalnum((unsigned char)line[len]) || line[len] == '_' || line[len] == '.')
        len++;
    if (len == 0)
        return 0;
    return (s->from_archive && in_list(recovery_settings, line, len)) ||
           (s->archive_off && len == 12 && strncasecmp(line, "archive_mode", len) == 0) ||
           (!s->keep_replication && in_list(replication_settings, line, len));
}

/* The whole of a small text file, NUL-terminated; -1 with errno set on failure. */
static int read_text_file(const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t size = 0, room = 4096;
    char *text = malloc(room);
    while (text) {
        size += fread(text + size, 1, room - size - 1, f);
        if (size < room - 1)
            break;
        char *grown = realloc(text, room *= 2);
        if (!grown)
            free(text);
        text = grown;
    }
    int error = !text ? ENOMEM : ferror(f) ? EIO : 0;
    fclose(f);
    if (error) {
        free(text);
        errno = error;
        return -1;
    }
    text[size] = '\0';
    *out = text;
    return 0;
}

static int write_file(pgb_ctx *ctx, const char *dir, const char *name, const char *content)
{
    char *path = pgb_text_printf("%s/%s", dir, name);
    char *temp = pgb_text_printf("%s/.%s.pgbackup-tmp", dir, name);
    if (!path || !temp) {
        free(path);
        free(temp);
        return pgb_error_nomem(ctx);
    }
    int rc = PGB_OK;
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(content), done = 0;
    if (fd < 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot create %s: %s", temp, strerror(errno));
    while (rc == PGB_OK && done < len) {
        ssize_t n = write(fd, content + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = pgb_error_set(ctx, PGB_EIO, "cannot write %s: %s", temp, strerror(errno));
        else
            done += (size_t)n;
    }
    if (rc == PGB_OK && fsync(fd) != 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot fsync %s: %s", temp, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && rc == PGB_OK)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot close %s: %s", temp, strerror(errno));
    if (rc == PGB_OK && rename(temp, path) != 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot rename %s into place: %s", path, strerror(errno));
    if (rc != PGB_OK && fd >= 0)
        unlink(temp);
    free(path);
    free(temp);
    return rc;
}

/* Append "name = 'value'\n" to *text. */
static int append_setting(char **text, const char *name, const char *value)
{
    char *quoted = pgb_conf_quote(value);
    char *grown = quoted ? pgb_text_printf("%s%s = %s\n", *text, name, quoted) : NULL;
    free(quoted);
    if (!grown)
        return -1;
    free(*text);
    *text = grown;
    return 0;
}

/*
 * The server's assign hooks refuse a second target while one is set, in the
 * order it reads them: clear the unused targets first, set ours last.
 */
static int recovery_lines(const struct pgb_recovery_settings *s, char **text)
{
    const struct pgb_recovery_target *t = s->target;
    static const char *const by_kind[] = {NULL, "recovery_target", "recovery_target_time", "recovery_target_lsn",
                                          "recovery_target_xid", "recovery_target_name"};
    char timeline[16];
    int failed = append_setting(text, "restore_command", s->restore_command);
    for (int kind = PGB_TARGET_IMMEDIATE; kind <= PGB_TARGET_NAME && !failed; kind++)
        if (kind != t->kind)
            failed = append_setting(text, by_kind[kind], "");
    if (!failed && t->kind != PGB_TARGET_LATEST)
        failed = append_setting(text, by_kind[t->kind], t->kind == PGB_TARGET_IMMEDIATE ? "immediate" : t->value);
    if (!failed)
        failed = append_setting(text, "recovery_target_inclusive", t->inclusive ? "on" : "off") ||
                 append_setting(text, "recovery_target_timeline", pgb_recovery_target_timeline_text(t, timeline)) ||
                 append_setting(text, "recovery_target_action", t->action);
    return failed ? -1 : 0;
}

static int write_auto_conf(pgb_ctx *ctx, const char *dir, const struct pgb_recovery_settings *s)
{
    char *path = pgb_text_printf("%s/postgresql.auto.conf", dir);
    if (!path)
        return pgb_error_nomem(ctx);
    char *old = NULL;
    int rc = read_text_file(path, &old);
    free(path);
    if (rc != 0 && errno != ENOENT)
        return pgb_error_set(ctx, PGB_EIO, "cannot read %s/postgresql.auto.conf: %s", dir, strerror(errno));
    char *text = pgb_text_dup("");
    int failed = !text;
    for (char *line = old; !failed && line && *line;) {
        char *newline = strchr(line, '\n');
        if (newline)
            *newline = '\0';
        if (!managed(s, line)) {
            char *grown = pgb_text_printf("%s%s\n", text, line);
            failed = !grown;
            free(text);
            text = grown;
        }
        line = newline ? newline + 1 : NULL;
    }
    free(old);
    char *header = failed ? NULL : pgb_text_printf("%s# Set by pgbackup restore of backup %s\n", text, s->backup_id);
    free(text);
    text = header;
    failed = !text || (s->from_archive && recovery_lines(s, &text) != 0) ||
             (s->archive_off && append_setting(&text, "archive_mode", "off") != 0) ||
             (!s->keep_replication && (append_setting(&text, "primary_conninfo", "") != 0 ||
                                       append_setting(&text, "primary_slot_name", "") != 0));
    rc = failed ? pgb_error_nomem(ctx) : write_file(ctx, dir, "postgresql.auto.conf", text);
    free(text);
    return rc;
}

static int remove_file(pgb_ctx *ctx, const char *dir, const char *name)
{
    char *path = pgb_text_printf("%s/%s", dir, name);
    if (!path)
        return pgb_error_nomem(ctx);
    int rc = unlink(path) == 0 || errno == ENOENT ? PGB_OK
                                                  : pgb_error_set(ctx, PGB_EIO, "cannot remove %s: %s", path,
                                                                  strerror(errno));
    free(path);
    return rc;
}

int pgb_recovery_config_write(pgb_ctx *ctx, const char *dir, const struct pgb_recovery_settings *s)
{
    int rc = write_auto_conf(ctx, dir, s);
    if (rc == PGB_OK && s->from_archive)
        rc = write_file(ctx, dir, PGB_RECOVERY_CONFIG_FILE, s->fetch_config);
    /* standby.signal would win over recovery.signal and keep the server in recovery for ever. */
    if (rc == PGB_OK && (s->from_archive || !s->keep_replication))
        rc = remove_file(ctx, dir, "standby.signal");
    if (rc == PGB_OK && s->from_archive)
        rc = write_file(ctx, dir, "recovery.signal", "");
    return rc;
}
