/*
 * Running a logical restore: create the database if asked (with the recorded
 * properties), feed the archive to pg_restore, ANALYZE.
 *
 * How the archive reaches pg_restore:
 *  - whole, one job: streamed from the repository into pg_restore's stdin, in
 *    one transaction (--single-transaction): no local copy, and a failure
 *    changes nothing;
 *  - whole, jobs > 1: pg_restore -j needs a seekable file, so the archive is
 *    written once to a private temporary file, with the data offsets the
 *    backup recorded written into its TOC (pg_dump cannot write them to a
 *    pipe), so the workers seek straight to their blocks;
 *  - selective: only the header and TOC and the data blocks of the chosen
 *    entries are read and written at their offsets into a sparse private file,
 *    and pg_restore -L lists the chosen entries in archive order;
 *  - a directory archive: its files (for a selective restore, toc.dat and the
 *    chosen entries' files) into a private folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "logical/backup_files.h"
#include "logical/child_process.h"
#include "logical/database_props.h"
#include "logical/logical_restore.h"
#include "logical/logical_session.h"
#include "pg/connection.h"

struct run {
    struct pgb_logical_restore *r;
    char folder[64];  /* private temporary folder; "" when not made */
    char *archive;    /* the archive's copy in it, or NULL when streamed */
    char *list;       /* the -L list, or NULL */
    pgb_child *child;
    struct pgb_progress progress;
    uint64_t last_report;
};

static int quoted(struct run *run, const char *name, char **out)
{
    PGconn *conn = run->r->admin;
    char *q = PQescapeIdentifier(conn, name, strlen(name));
    *out = q ? pgb_text_dup(q) : NULL;
    PQfreemem(q);
    return *out ? PGB_OK : pgb_error_nomem(run->r->ctx);
}

static int drop_database(struct run *run)
{
    char *name = NULL, *sql = NULL;
    int rc = quoted(run, run->r->target_db, &name);
    if (rc == PGB_OK && !(sql = pgb_text_printf("DROP DATABASE %s", name)))
        rc = pgb_error_nomem(run->r->ctx);
    if (rc == PGB_OK)
        rc = pgb_logical_exec(run->r->ctx, run->r->admin, sql);
    free(name);
    free(sql);
    return rc;
}

/* CREATE DATABASE with the recorded properties, then its comment, grants and settings. */
static int create_database(struct run *run, int *created)
{
    struct pgb_logical_restore *r = run->r;
    char **statements = NULL;
    int rc = r->target_exists && r->clean ? drop_database(run) : PGB_OK;
    if (rc == PGB_OK)
        rc = pgb_database_props_sql(r->ctx, r->admin, r->props, r->target_db, &statements);
    for (size_t i = 0; rc == PGB_OK && statements[i]; i++) {
        rc = pgb_logical_exec(r->ctx, r->admin, statements[i]);
        if (rc == PGB_OK && i == 0)
            *created = 1;
    }
    pgb_statements_free(statements);
    return rc;
}

static int make_folder(struct run *run)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(run->folder, sizeof(run->folder), "%s/pgbackup-restore-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(run->folder)) {
        int rc = pgb_error_set(run->r->ctx, PGB_EIO, "cannot make a private temporary folder %s: %s", run->folder,
                               strerror(errno));
        run->folder[0] = '\0';
        return rc;
    }
    return PGB_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int write_fd(pgb_ctx *ctx, int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return pgb_error_set(ctx, PGB_EIO, "cannot write the restore's copy of the dump: %s", strerror(errno));
        p += n;
        size -= (size_t)n;
    }
    return PGB_OK;
}

static int report_bytes(struct run *run, size_t size)
{
    run->progress.bytes_done += size;
    if (run->progress.bytes_done - run->last_report < 8u << 20)
        return PGB_OK;
    run->last_report = run->progress.bytes_done;
    return pgb_progress_report(run->r->ctx, &run->progress);
}

struct file_sink {
    struct run *run;
    int fd;
};

static int to_file(void *payload, const void *data, size_t size)
{
    struct file_sink *f = payload;
    int rc = write_fd(f->run->r->ctx, f->fd, data, size);
    return rc == PGB_OK ? report_bytes(f->run, size) : rc;
}

static int to_child(void *payload, const void *data, size_t size)
{
    struct run *run = payload;
    int rc = pgb_child_write(run->child, data, size);
    return rc == PGB_OK ? report_bytes(run, size) : rc;
}

/* Write the recorded data offsets into the TOC of the copy, as pg_dump does when it writes to a file. */
static int patch_offsets(struct run *run, int fd)
{
    const struct pgb_archive_toc *toc = &run->r->toc;
    pgb_ctx *ctx = run->r->ctx;
    size_t size = (size_t)toc->prefix_size;
    uint8_t *prefix = size ? malloc(size) : NULL;
    if (!prefix)
        return size ? pgb_error_nomem(ctx) : PGB_OK;
    int rc = pread(fd, prefix, size, 0) == (ssize_t)size
                 ? PGB_OK
                 : pgb_error_set(ctx, PGB_EIO, "cannot read back the TOC of the restore's copy of the dump");
    if (rc == PGB_OK) {
        pgb_archive_toc_patch_offsets(toc, prefix, size);
        rc = pwrite(fd, prefix, size, 0) == (ssize_t)size
                 ? PGB_OK
                 : pgb_error_set(ctx, PGB_EIO, "cannot write the TOC of the restore's copy of the dump: %s",
                                 strerror(errno));
    }
    free(prefix);
    return rc;
}

/* The archive into a private file: whole, or only the TOC and the chosen entries' data blocks. */
static int write_archive(struct run *run)
{
    struct pgb_logical_restore *r = run->r;
    pgb_ctx *ctx = r->ctx;
    int rc = make_folder(run);
    if (rc == PGB_OK && !(run->archive = pgb_text_printf("%s/dump", run->folder)))
        rc = pgb_error_nomem(ctx);
    int fd = rc == PGB_OK ? open(run->archive, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    if (rc == PGB_OK && fd < 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot create %s: %s", run->archive, strerror(errno));
    if (rc == PGB_OK && r->selective) {
        size_t count = 1;
        struct pgb_byte_range *ranges = calloc(r->toc.count + 1, sizeof(*ranges));
        if (!ranges)
            rc = pgb_error_nomem(ctx);
        for (size_t i = 0; ranges && i < r->toc.count; i++)
            if (r->selection.wanted[i] && r->toc.entries[i].data_offset >= 0)
                ranges[count++] = (struct pgb_byte_range){(uint64_t)r->toc.entries[i].data_offset,
                                                          r->toc.entries[i].data_length};
        if (ranges)
            ranges[0] = (struct pgb_byte_range){0, r->toc.prefix_size};
        uint64_t written = 0;
        if (rc == PGB_OK)
            rc = pgb_backup_file_write_ranges(r->repo, r->dump, fd, ranges, count, &written);
        run->progress.bytes_done += written;
        free(ranges);
    } else if (rc == PGB_OK) {
        struct file_sink sink = {run, fd};
        rc = pgb_backup_file_stream(r->repo, r->dump, to_file, &sink);
    }
    if (rc == PGB_OK)
        rc = patch_offsets(run, fd);
    if (fd >= 0 && close(fd) != 0 && rc == PGB_OK)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot write %s: %s", run->archive, strerror(errno));
    return rc;
}

/* Whether the file name of a directory archive holds data of a chosen entry (large objects: every blob file). */
static int directory_file_wanted(const struct pgb_logical_restore *r, const char *file)
{
    if (!r->selective || strcmp(file, "toc.dat") == 0)
        return 1;
    for (size_t i = 0; i < r->toc.count; i++) {
        const struct pgb_archive_entry *e = &r->toc.entries[i];
        if (!r->selection.wanted[i])
            continue;
        /* The TOC names "3401.dat"; pg_dump adds its compression's suffix to the file (".gz"). */
        size_t length = e->file ? strlen(e->file) : 0;
        if (length && strncmp(e->file, file, length) == 0 && (file[length] == '\0' || file[length] == '.'))
            return 1;
        if (strcmp(e->desc, "BLOBS") == 0 && (strncmp(file, "blob_", 5) == 0 || strcmp(file, "blobs.toc") == 0))
            return 1;
    }
    return 0;
}

/* A directory archive into a private folder: every file, or toc.dat and the chosen entries' files. */
static int write_directory(struct run *run)
{
    struct pgb_logical_restore *r = run->r;
    pgb_ctx *ctx = r->ctx;
    char *prefix = NULL;
    int rc = make_folder(run);
    if (rc == PGB_OK && !(run->archive = pgb_text_printf("%s/archive", run->folder)))
        rc = pgb_error_nomem(ctx);
    if (rc == PGB_OK && mkdir(run->archive, 0700) != 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot make %s: %s", run->archive, strerror(errno));
    if (rc == PGB_OK)
        rc = pgb_logical_database_path(ctx, r->database, "dir/", &prefix);
    for (size_t i = 0; rc == PGB_OK && i < r->files.count; i++) {
        const struct pgb_file_entry *e = &r->files.entries[i];
        const char *file = e->path + strlen(prefix);
        if (strncmp(e->path, prefix, strlen(prefix)) != 0 || strchr(file, '/') || file[0] == '.' ||
            !directory_file_wanted(r, file))
            continue;
        char *path = pgb_text_printf("%s/%s", run->archive, file);
        int fd = path ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
        if (!path)
            rc = pgb_error_nomem(ctx);
        else if (fd < 0)
            rc = pgb_error_set(ctx, PGB_EIO, "cannot create %s: %s", path, strerror(errno));
        struct file_sink sink = {run, fd};
        if (rc == PGB_OK)
            rc = pgb_backup_file_stream(r->repo, e, to_file, &sink);
        if (fd >= 0 && close(fd) != 0 && rc == PGB_OK)
            rc = pgb_error_set(ctx, PGB_EIO, "cannot write %s: %s", path, strerror(errno));
        free(path);
    }
    free(prefix);
    return rc;
}

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The -L list: the lines of pg_restore -l for the chosen entries, in archive order. */
static int write_list(struct run *run)
{
    struct pgb_logical_restore *r = run->r;
    pgb_ctx *ctx = r->ctx;
    int *ids = malloc((r->toc.count ? r->toc.count : 1) * sizeof(*ids));
    size_t count = 0;
    if (!ids)
        return pgb_error_nomem(ctx);
    for (size_t i = 0; i < r->toc.count; i++)
        if (r->selection.wanted[i])
            ids[count++] = r->toc.entries[i].id;
    qsort(ids, count, sizeof(*ids), compare_ints);
    int rc = (run->list = pgb_text_printf("%s/list", run->folder)) ? PGB_OK : pgb_error_nomem(ctx);
    FILE *f = rc == PGB_OK ? fopen(run->list, "we") : NULL;
    if (rc == PGB_OK && !f)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot create %s: %s", run->list, strerror(errno));
    for (const char *line = r->listing; rc == PGB_OK && *line;) {
        size_t length = strcspn(line, "\n");
        char *end = NULL;
        long id = strtol(line, &end, 10);
        if (end != line && *end == ';' && bsearch(&(int){(int)id}, ids, count, sizeof(*ids), compare_ints))
            fprintf(f, "%.*s\n", (int)length, line);
        line += length + (line[length] == '\n');
    }
    if (f && fclose(f) != 0 && rc == PGB_OK)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot write %s", run->list);
    free(ids);
    return rc;
}

static int run_pg_restore(struct run *run)
{
    struct pgb_logical_restore *r = run->r;
    pgb_ctx *ctx = r->ctx;
    char *conninfo = NULL, *dbname = NULL, *jobs = NULL, *list = NULL;
    int rc = pgb_conninfo_for_program(ctx, r->conninfo, r->target_db, &conninfo, NULL);
    if (rc == PGB_OK && (!(dbname = pgb_text_printf("--dbname=%s", conninfo)) ||
                         !(jobs = pgb_text_printf("--jobs=%d", r->jobs))))
        rc = pgb_error_nomem(ctx);
    int streamed = !r->selective && r->jobs == 1 && !r->directory;
    if (rc == PGB_OK && !streamed)
        rc = r->directory ? write_directory(run) : write_archive(run);
    if (rc == PGB_OK && r->selective)
        rc = write_list(run);
    if (rc == PGB_OK && run->list && !(list = pgb_text_printf("--use-list=%s", run->list)))
        rc = pgb_error_nomem(ctx);
    if (rc == PGB_OK) {
        char program[PATH_MAX];
        pgb_pg_program_path(&r->programs, "pg_restore", program);
        const char *argv[12];
        size_t n = 0;
        argv[n++] = program;
        argv[n++] = dbname;
        argv[n++] = "--exit-on-error";
        /* One transaction makes a failure change nothing; pg_restore -j cannot use one. */
        argv[n++] = r->jobs > 1 ? jobs : "--single-transaction";
        if (r->clean && !r->create) {
            argv[n++] = "--clean";
            argv[n++] = "--if-exists";
        }
        if (list)
            argv[n++] = list;
        if (run->archive)
            argv[n++] = run->archive;
        argv[n] = NULL;
        rc = pgb_child_start(ctx, argv, (const char *const *)r->env.entries, streamed ? PGB_CHILD_STDIN : 0,
                             &run->child);
    }
    if (rc == PGB_OK && streamed)
        rc = pgb_backup_file_stream(r->repo, r->dump, to_child, run);
    int status = 0;
    if (rc == PGB_OK)
        rc = pgb_child_wait(run->child, &status);
    if (rc == PGB_OK && status != 0)
        rc = pgb_child_fail(run->child, PGB_ERROR, "pg_restore", status);
    if (rc != PGB_OK && rc != PGB_ECANCELED)
        pgb_error_prefix(ctx, "restore of database %s from backup %s into %s", r->database, r->backup_id,
                         r->target_db);
    free(conninfo);
    free(dbname);
    free(jobs);
    free(list);
    return rc;
}

/* ANALYZE the database, or the tables a selective restore brought back; *analyzed says what. */
static int analyze(struct run *run, json_t **analyzed)
{
    struct pgb_logical_restore *r = run->r;
    pgb_ctx *ctx = r->ctx;
    PGconn *conn = NULL;
    int rc = pgb_logical_connect(ctx, r->conninfo, r->target_db, &conn);
    if (rc == PGB_OK && !r->selective) {
        rc = pgb_logical_exec(ctx, conn, "ANALYZE");
        *analyzed = json_string("database");
    } else if (rc == PGB_OK) {
        *analyzed = json_array();
        for (size_t i = 0; rc == PGB_OK && i < r->selection.analyze_count; i++) {
            char *key = r->selection.analyze[i], *sep = strchr(key, '\x1f');
            *sep = '\0';
            char *schema = PQescapeIdentifier(conn, key, strlen(key));
            char *table = PQescapeIdentifier(conn, sep + 1, strlen(sep + 1));
            char *sql = schema && table ? pgb_text_printf("ANALYZE %s.%s", schema, table) : NULL;
            char *name = pgb_text_printf("%s.%s", key, sep + 1);
            *sep = '\x1f';
            rc = sql ? pgb_logical_exec(ctx, conn, sql) : pgb_error_nomem(ctx);
            if (rc == PGB_OK && name)
                json_array_append_new(*analyzed, json_string(name));
            PQfreemem(schema);
            PQfreemem(table);
            free(sql);
            free(name);
        }
    }
    PQfinish(conn);
    return rc;
}

int pgb_logical_restore_run(struct pgb_logical_restore *r)
{
    pgb_ctx *ctx = r->ctx;
    struct run run = {.r = r};
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pgb_progress_begin(&run.progress, "restore");
    run.progress.bytes_total = r->dump_size;
    int created = 0;
    json_t *analyzed = json_null();
    int rc = pgb_progress_report(ctx, &run.progress);
    if (rc == PGB_OK && r->create)
        rc = create_database(&run, &created);
    if (rc == PGB_OK)
        rc = run_pg_restore(&run);
    if (rc == PGB_OK && r->analyze) {
        run.progress.phase = "analyze";
        rc = pgb_progress_report(ctx, &run.progress);
        if (rc == PGB_OK) {
            json_decref(analyzed);
            analyzed = NULL;
            rc = analyze(&run, &analyzed);
        }
    }
    /* The private copy holds the decrypted dump: it goes first, whatever happened. */
    pgb_child_free(run.child);
    if (run.folder[0])
        nftw(run.folder, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (rc != PGB_OK && created) {
        /* A database this restore made and could not fill is not left behind; the error stays the restore's. */
        char *message = pgb_text_dup(pgb_ctx_errmsg(ctx));
        if (drop_database(&run) != PGB_OK)
            pgb_log(ctx, PGB_LOG_WARNING, "cannot drop database %s after the failed restore: %s", r->target_db,
                    pgb_ctx_errmsg(ctx));
        pgb_error_set(ctx, rc, "%s", message ? message : "restore failed");
        free(message);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    json_object_set_new(r->report, "seconds", json_real(seconds));
    json_object_set_new(r->report, "analyzed", analyzed ? analyzed : json_null());
    if (rc == PGB_OK)
        pgb_log(ctx, PGB_LOG_INFO, "restored database %s of backup %s into %s in %.1f s", r->database, r->backup_id,
                r->target_db, seconds);
    free(run.archive);
    free(run.list);
    return rc;
}
