/*
 * The exclusion rules of PostgreSQL 15's base backup (basebackup.c:
 * excludeDirContents, excludeFiles, sendDir, sendTablespace; reinit.c's
 * parse_filename_for_nontemp_relation; fd.c's looks_like_temp_rel_name),
 * applied to a walk of the data directory. The server's documentation
 * (backup.sgml, "Making a Base Backup Using the Low Level API") gives the same
 * list for copies made between pg_backup_start and pg_backup_stop.
 */
#include "backup/data_dir.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "repo/file_list.h"

/* Folders whose content is never backed up; the folder itself is, for its permissions. */
static const char *const excluded_contents[] = {"pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify",
                                                "pg_serial",   "pg_snapshots", "pg_subtrans", NULL};

/* Files never backed up, at any depth. */
static const char *const excluded_files[] = {"postgresql.auto.conf.tmp", "current_logfiles.tmp", "backup_label",
                                             "tablespace_map", "backup_manifest", "postmaster.pid",
                                             "postmaster.opts", NULL};
static const char excluded_prefix[] = "pg_internal.init"; /* and pg_internal.init.<pid> */
static const char temporary_prefix[] = "pgsql_tmp";       /* PG_TEMP_FILE_PREFIX: files and folders */
static const char control_file[] = "global/pg_control";

/* Relation forks other than main, in ForkNumber order (common/relpath.c, forkNames). */
static const char *const fork_names[] = {"fsm", "vm", "init", NULL};
enum { FORK_MAIN = 0, FORK_INIT = 3, OID_CHARS = 10 };

struct walker {
    pgb_ctx *ctx;
    struct pgb_data_dir *out;
    const char *version_dir;
    char **inner_tablespaces; /* tablespace locations inside the data directory, relative to it */
    size_t inner_count;
};

/* Length of the fork name at name ("fsm", "vm", "init"), its number in *fork; 0 if none. */
static size_t fork_name_length(const char *name, int *fork)
{
    for (int i = 0; fork_names[i]; i++) {
        size_t len = strlen(fork_names[i]);
        if (strncmp(name, fork_names[i], len) == 0) {
            *fork = i + 1;
            return len;
        }
    }
    return 0;
}

/* Skip ".<digits>" at name[*pos]; 0 when something else follows. */
static int segment_suffix(const char *name, size_t *pos, uint32_t *segment)
{
    if (name[*pos] != '.')
        return 1;
    size_t digits = 0;
    unsigned long value = 0;
    while (isdigit((unsigned char)name[*pos + 1 + digits])) {
        value = value * 10 + (unsigned long)(name[*pos + 1 + digits] - '0');
        if (value > UINT32_MAX)
            return 0;
        digits++;
    }
    if (digits == 0)
        return 0;
    *pos += 1 + digits;
    *segment = (uint32_t)value;
    return 1;
}

/*
 * "<relfilenode>[_fork][.segment]" (parse_filename_for_nontemp_relation): the
 * length of the relfilenode, fork and segment numbers; 0 when name is not that.
 */
static size_t relation_name(const char *name, int *fork, uint32_t *segment)
{
    size_t pos = 0;
    while (isdigit((unsigned char)name[pos]))
        pos++;
    size_t oid_length = pos;
    if (oid_length == 0 || oid_length > OID_CHARS)
        return 0;
    *fork = FORK_MAIN;
    *segment = 0;
    if (name[pos] == '_') {
        size_t len = fork_name_length(name + pos + 1, fork);
        if (len == 0)
            return 0;
        pos += 1 + len;
    }
    if (!segment_suffix(name, &pos, segment) || name[pos] != '\0')
        return 0;
    return oid_length;
}

/* "t<backend>_<relfilenode>[_fork][.segment]" (looks_like_temp_rel_name). */
static int temporary_relation_name(const char *name)
{
    if (name[0] != 't')
        return 0;
    size_t pos = 1;
    while (isdigit((unsigned char)name[pos]))
        pos++;
    if (pos == 1 || name[pos] != '_')
        return 0;
    size_t start = ++pos;
    while (isdigit((unsigned char)name[pos]))
        pos++;
    if (pos == start)
        return 0;
    if (name[pos] == '_') {
        int fork;
        size_t len = fork_name_length(name + pos + 1, &fork);
        if (len == 0)
            return 0;
        pos += 1 + len;
    }
    uint32_t segment;
    return segment_suffix(name, &pos, &segment) && name[pos] == '\0';
}

/* Whether a folder holds relations: base/<digits> or <tablespace>/PG_<major>_<catversion>/<digits>. */
static int is_database_folder(const struct walker *w, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (!slash || slash[1] == '\0' || strspn(slash + 1, "0123456789") != strlen(slash + 1))
        return 0;
    size_t parent_length = (size_t)(slash - rel);
    size_t version_length = strlen(w->version_dir);
    if (parent_length == 4 && strncmp(rel, "base", 4) == 0)
        return 1;
    return parent_length >= version_length &&
           strncmp(slash - version_length, w->version_dir, version_length) == 0 &&
           (parent_length == version_length || slash[-(long)version_length - 1] == '/');
}

/* Files whose pages carry checksums: relation files under global/, base/ and tablespaces. */
static int in_relation_area(const char *rel)
{
    return strncmp(rel, "global/", 7) == 0 || strncmp(rel, "base/", 5) == 0 || strncmp(rel, "pg_tblspc/", 10) == 0;
}

static int add_entry(struct walker *w, const char *rel, const char *source, int type, const struct stat *st,
                     const char *link)
{
    struct pgb_data_dir *out = w->out;
    if (out->count == out->capacity) {
        size_t capacity = out->capacity ? out->capacity * 2 : 1024;
        struct pgb_data_dir_entry *grown = realloc(out->entries, capacity * sizeof(*grown));
        if (!grown)
            return pgb_error_nomem(w->ctx);
        out->entries = grown;
        out->capacity = capacity;
    }
    struct pgb_data_dir_entry *e = &out->entries[out->count];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->mode = (uint32_t)(st->st_mode & 07777);
    e->mtime = (int64_t)st->st_mtime;
    e->path = pgb_text_dup(rel);
    e->source = source ? pgb_text_dup(source) : NULL;
    e->link = link ? pgb_text_dup(link) : NULL;
    if (!e->path || (source && !e->source) || (link && !e->link)) {
        free(e->path);
        free(e->source);
        free(e->link);
        return pgb_error_nomem(w->ctx);
    }
    if (type == PGB_FILE_REGULAR) {
        e->size = (uint64_t)st->st_size;
        const char *slash = strrchr(rel, '/');
        int fork;
        e->relation = in_relation_area(rel) && relation_name(slash ? slash + 1 : rel, &fork, &e->segment) > 0;
        out->file_bytes += e->size;
        out->file_count++;
    }
    out->count++;
    return PGB_OK;
}

static int io_error(pgb_ctx *ctx, const char *what, const char *path)
{
    return pgb_error_set(ctx, PGB_EIO, "cannot %s %s: %s", what, path, strerror(errno));
}

/*
 * A folder recorded as a folder even when it is a link (pg_wal, pg_stat_tmp...):
 * the server writes such links as folders (convert_link_to_directory).
 */
static void as_folder(const char *source, struct stat *st)
{
    struct stat target;
    if (S_ISLNK(st->st_mode)) {
        if (stat(source, &target) == 0 && S_ISDIR(target.st_mode))
            *st = target;
        else
            st->st_mode = S_IFDIR | 0700;
    }
}

static int walk_folder(struct walker *w, const char *source_dir, const char *rel_dir);

/* pg_tblspc/<name> is a link: record it and take the tablespace's version folder. */
static int add_tablespace(struct walker *w, const char *name, const char *source, const char *rel,
                          const struct stat *st)
{
    char location[PATH_MAX];
    ssize_t n = readlink(source, location, sizeof(location) - 1);
    if (n < 0)
        return errno == ENOENT ? PGB_OK : io_error(w->ctx, "read the link", source);
    location[n] = '\0';
    char *end;
    errno = 0;
    unsigned long oid = strtoul(name, &end, 10);
    if (*end || errno || oid == 0 || oid > UINT32_MAX) {
        pgb_log(w->ctx, PGB_LOG_WARNING, "skipping %s: a link in pg_tblspc whose name is not a tablespace oid", rel);
        return PGB_OK;
    }
    struct pgb_data_dir *out = w->out;
    struct pgb_tablespace *grown = realloc(out->tablespaces, (out->tablespace_count + 1) * sizeof(*grown));
    if (!grown)
        return pgb_error_nomem(w->ctx);
    out->tablespaces = grown;
    out->tablespaces[out->tablespace_count].oid = (uint32_t)oid;
    out->tablespaces[out->tablespace_count].location = pgb_text_dup(location);
    if (!out->tablespaces[out->tablespace_count].location)
        return pgb_error_nomem(w->ctx);
    out->tablespace_count++;

    char version_source[PATH_MAX], version_rel[PATH_MAX];
    if (snprintf(version_source, sizeof(version_source), "%s/%s", source, w->version_dir) >= PATH_MAX ||
        snprintf(version_rel, sizeof(version_rel), "%s/%s", rel, w->version_dir) >= PATH_MAX)
        return pgb_error_set(w->ctx, PGB_EIO, "path too long: %s/%s", source, w->version_dir);
    struct stat version_st;
    int rc = PGB_OK;
    if (lstat(version_source, &version_st) == 0) {
        /* The content first, then the link, in the order stream mode lists them. */
        rc = add_entry(w, version_rel, NULL, PGB_FILE_DIRECTORY, &version_st, NULL);
        if (rc == PGB_OK)
            rc = walk_folder(w, version_source, version_rel);
    } else if (errno != ENOENT) {
        rc = io_error(w->ctx, "read", version_source);
    }
    if (rc == PGB_OK)
        rc = add_entry(w, rel, NULL, PGB_FILE_SYMLINK, st, location);
    return rc;
}

static int excluded_name(const char *name)
{
    if (strncmp(name, temporary_prefix, sizeof(temporary_prefix) - 1) == 0 ||
        strncmp(name, excluded_prefix, sizeof(excluded_prefix) - 1) == 0)
        return 1;
    for (int i = 0; excluded_files[i]; i++)
        if (strcmp(name, excluded_files[i]) == 0)
            return 1;
    return 0;
}

/* An unlogged relation's fork other than _init: "<relfilenode>_init" stands beside it. */
static int unlogged_fork(const char *source_dir, const char *name)
{
    int fork;
    uint32_t segment;
    size_t oid_length = relation_name(name, &fork, &segment);
    if (oid_length == 0 || fork == FORK_INIT)
        return 0;
    char init_fork[PATH_MAX];
    struct stat st;
    if (snprintf(init_fork, sizeof(init_fork), "%s/%.*s_init", source_dir, (int)oid_length, name) >= PATH_MAX)
        return 0;
    return lstat(init_fork, &st) == 0;
}

static int is_inner_tablespace(const struct walker *w, const char *rel)
{
    for (size_t i = 0; i < w->inner_count; i++)
        if (strcmp(w->inner_tablespaces[i], rel) == 0)
            return 1;
    return 0;
}

static int walk_entry(struct walker *w, const char *source_dir, const char *rel_dir, const char *name,
                      int database_folder)
{
    if (excluded_name(name))
        return PGB_OK;
    if (database_folder && (unlogged_fork(source_dir, name) || temporary_relation_name(name)))
        return PGB_OK;
    char source[PATH_MAX], rel[PATH_MAX];
    if (snprintf(source, sizeof(source), "%s/%s", source_dir, name) >= PATH_MAX ||
        snprintf(rel, sizeof(rel), "%s%s%s", rel_dir, rel_dir[0] ? "/" : "", name) >= PATH_MAX)
        return pgb_error_set(w->ctx, PGB_EIO, "path too long: %s/%s", source_dir, name);
    if (strcmp(rel, control_file) == 0)
        return PGB_OK; /* taken last, by pgb_data_dir_walk */
    struct stat st;
    if (lstat(source, &st) != 0)
        return errno == ENOENT ? PGB_OK : io_error(w->ctx, "read", source);
    for (int i = 0; excluded_contents[i]; i++)
        if (strcmp(name, excluded_contents[i]) == 0 && (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))) {
            as_folder(source, &st);
            return add_entry(w, rel, NULL, PGB_FILE_DIRECTORY, &st, NULL);
        }
    if (strcmp(rel, "pg_wal") == 0) {
        /* Never the WAL (it comes from the stream), but the folder and archive_status, for their permissions. */
        as_folder(source, &st);
        int rc = add_entry(w, rel, NULL, PGB_FILE_DIRECTORY, &st, NULL);
        return rc == PGB_OK ? add_entry(w, "pg_wal/archive_status", NULL, PGB_FILE_DIRECTORY, &st, NULL) : rc;
    }
    if (strcmp(rel_dir, "pg_tblspc") == 0 && S_ISLNK(st.st_mode))
        return add_tablespace(w, name, source, rel, &st);
    if (S_ISDIR(st.st_mode)) {
        int rc = add_entry(w, rel, NULL, PGB_FILE_DIRECTORY, &st, NULL);
        /* A tablespace inside the data directory is taken through its link only. */
        if (rc == PGB_OK && !is_inner_tablespace(w, rel))
            rc = walk_folder(w, source, rel);
        return rc;
    }
    if (S_ISREG(st.st_mode))
        return add_entry(w, rel, source, PGB_FILE_REGULAR, &st, NULL);
    pgb_log(w->ctx, PGB_LOG_WARNING, "skipping special file %s", source);
    return PGB_OK;
}

static int walk_folder(struct walker *w, const char *source_dir, const char *rel_dir)
{
    struct dirent **names = NULL;
    int count = scandir(source_dir, &names, NULL, alphasort);
    if (count < 0)
        return errno == ENOENT ? PGB_OK : io_error(w->ctx, "list", source_dir);
    int database_folder = is_database_folder(w, rel_dir);
    int rc = PGB_OK;
    for (int i = 0; i < count; i++) {
        const char *name = names[i]->d_name;
        if (rc == PGB_OK && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
            rc = walk_entry(w, source_dir, rel_dir, name, database_folder);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* Tablespace links of the data directory that point inside it: their folders are not walked twice. */
static int find_inner_tablespaces(struct walker *w, const char *pgdata)
{
    char root[PATH_MAX], tblspc[PATH_MAX];
    if (!realpath(pgdata, root))
        return io_error(w->ctx, "resolve", pgdata);
    if (snprintf(tblspc, sizeof(tblspc), "%s/pg_tblspc", pgdata) >= PATH_MAX)
        return pgb_error_set(w->ctx, PGB_EIO, "path too long: %s/pg_tblspc", pgdata);
    DIR *dir = opendir(tblspc);
    if (!dir)
        return PGB_OK;
    size_t root_length = strlen(root);
    int rc = PGB_OK;
    struct dirent *de;
    while (rc == PGB_OK && (de = readdir(dir)) != NULL) {
        char link[PATH_MAX], target[PATH_MAX];
        struct stat st;
        if (snprintf(link, sizeof(link), "%s/%s", tblspc, de->d_name) >= PATH_MAX || lstat(link, &st) != 0 ||
            !S_ISLNK(st.st_mode) || !realpath(link, target))
            continue;
        if (strncmp(target, root, root_length) != 0 || target[root_length] != '/')
            continue;
        char **grown = realloc(w->inner_tablespaces, (w->inner_count + 1) * sizeof(*grown));
        if (!grown) {
            rc = pgb_error_nomem(w->ctx);
            break;
        }
        w->inner_tablespaces = grown;
        w->inner_tablespaces[w->inner_count] = pgb_text_dup(target + root_length + 1);
        rc = w->inner_tablespaces[w->inner_count] ? PGB_OK : pgb_error_nomem(w->ctx);
        if (rc == PGB_OK)
            w->inner_count++;
    }
    closedir(dir);
    return rc;
}

int pgb_data_dir_walk(pgb_ctx *ctx, const char *pgdata, const char *version_dir, struct pgb_data_dir *out)
{
    memset(out, 0, sizeof(*out));
    struct walker w = {.ctx = ctx, .out = out, .version_dir = version_dir};
    int rc = find_inner_tablespaces(&w, pgdata);
    if (rc == PGB_OK)
        rc = walk_folder(&w, pgdata, "");
    if (rc == PGB_OK) {
        /* pg_control goes last: a restore whose copy stopped early must not look like a cluster. */
        char source[PATH_MAX];
        struct stat st;
        snprintf(source, sizeof(source), "%s/%s", pgdata, control_file);
        errno = 0;
        if (lstat(source, &st) != 0 || !S_ISREG(st.st_mode))
            rc = pgb_error_set(ctx, PGB_EIO, "cannot read the control file %s: %s", source,
                               errno ? strerror(errno) : "not a regular file");
        else
            rc = add_entry(&w, control_file, source, PGB_FILE_REGULAR, &st, NULL);
    }
    for (size_t i = 0; i < w.inner_count; i++)
        free(w.inner_tablespaces[i]);
    free(w.inner_tablespaces);
    return rc;
}

void pgb_data_dir_clear(struct pgb_data_dir *dir)
{
    for (size_t i = 0; i < dir->count; i++) {
        free(dir->entries[i].path);
        free(dir->entries[i].source);
        free(dir->entries[i].link);
    }
    free(dir->entries);
    for (size_t i = 0; i < dir->tablespace_count; i++)
        free(dir->tablespaces[i].location);
    free(dir->tablespaces);
    memset(dir, 0, sizeof(*dir));
}

int pgb_data_dir_read_control(pgb_ctx *ctx, const char *pgdata, uint64_t *system_identifier,
                              uint32_t *catalog_version)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", pgdata, control_file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(ctx, "open", path);
    uint8_t head[16];
    ssize_t n = read(fd, head, sizeof(head));
    int saved = errno;
    close(fd);
    if (n != (ssize_t)sizeof(head))
        return pgb_error_set(ctx, PGB_EIO, "cannot read %s: %s", path, n < 0 ? strerror(saved) : "too short");
    /* ControlFileData begins with uint64 system_identifier, uint32 pg_control_version, uint32 catalog_version_no. */
    memcpy(system_identifier, head, 8);
    memcpy(catalog_version, head + 12, 4);
    return PGB_OK;
}
