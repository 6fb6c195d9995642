#include "logical/directory_dump.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "logical/archive_scanner.h"
#include "logical/child_process.h"

struct spool {
    struct logical_session *s;
    const char *name;  /* the database */
    char root[64];     /* private folder; "" when not made */
    char dir[128];     /* pg_dump's output folder in it */
    int watch;         /* inotify descriptor */
    uint64_t size;     /* bytes stored */
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Store one finished file and remove it from the spool; toc.dat stays until the end. */
static int store(struct spool *sp, const char *file)
{
    if (strcmp(file, "toc.dat") == 0)
        return PGB_OK;
    char local[PATH_MAX], relative[PATH_MAX];
    snprintf(local, sizeof(local), "%s/%s", sp->dir, file);
    if (access(local, F_OK) != 0)
        return PGB_OK; /* stored already */
    snprintf(relative, sizeof(relative), "dir/%s", file);
    char *path = NULL;
    uint64_t size = 0;
    int rc = pgb_logical_database_path(sp->s->job->ctx, sp->name, relative, &path);
    if (rc == PGB_OK)
        rc = pgb_logical_session_store_file(sp->s, path, local, &size);
    if (rc == PGB_OK)
        unlink(local);
    sp->size += size;
    free(path);
    return rc;
}

/* Store the files pg_dump closed since the last look. */
static int take_events(struct spool *sp)
{
    char buffer[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    int rc = PGB_OK;
    for (;;) {
        ssize_t n = read(sp->watch, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return rc; /* EAGAIN: nothing more for now */
        for (char *p = buffer; rc == PGB_OK && p < buffer + n;) {
            const struct inotify_event *event = (const struct inotify_event *)p;
            if (event->len && (event->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
                rc = store(sp, event->name);
            p += sizeof(*event) + event->len;
        }
        if (rc != PGB_OK)
            return rc;
    }
}

/* Whatever is left in the spool once pg_dump ended (events lost to a queue overflow, for one). */
static int take_rest(struct spool *sp)
{
    DIR *d = opendir(sp->dir);
    if (!d)
        return pgb_error_set(sp->s->job->ctx, PGB_EIO, "cannot read %s: %s", sp->dir, strerror(errno));
    int rc = PGB_OK;
    struct dirent *e;
    while (rc == PGB_OK && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            rc = store(sp, e->d_name);
    closedir(d);
    return rc;
}

static int run_pg_dump(struct spool *sp, const char *conninfo)
{
    struct logical_session *s = sp->s;
    pgb_ctx *ctx = s->job->ctx;
    char program[PATH_MAX], *file = pgb_text_printf("--file=%s", sp->dir),
                            *jobs = pgb_text_printf("--jobs=%d", s->job->jobs),
                            *dbname = pgb_text_printf("--dbname=%s", conninfo),
                            *what = pgb_text_printf("pg_dump of database %s", sp->name);
    pgb_child *child = NULL;
    int rc = file && jobs && dbname && what ? PGB_OK : pgb_error_nomem(ctx);
    if (rc == PGB_OK) {
        pgb_pg_program_path(&s->programs, "pg_dump", program);
        const char *argv[] = {program, "--format=directory", jobs, "--no-sync", file, dbname, "--compress=1", NULL};
        rc = pgb_child_start(ctx, argv, (const char *const *)s->env.entries, 0, &child);
    }
    int ended = 0, ready = 0, status = 0;
    while (rc == PGB_OK && !ended) {
        rc = pgb_child_watch(child, sp->watch, 500, &ready, &ended);
        if (rc == PGB_OK && (ready || ended))
            rc = take_events(sp);
    }
    if (rc == PGB_OK)
        rc = pgb_child_wait(child, &status);
    if (rc == PGB_OK && status != 0)
        rc = pgb_child_fail(child, PGB_ERROR, what, status);
    if (rc == PGB_OK)
        rc = take_rest(sp);
    pgb_child_free(child);
    free(file);
    free(jobs);
    free(dbname);
    free(what);
    return rc;
}

/* toc.dat: parsed, stored, and listed by pg_restore -l -v (which reads nothing else of the folder). */
static int finish_toc(struct spool *sp, struct pgb_archive_toc *toc, char **listing, size_t *listing_size)
{
    struct logical_session *s = sp->s;
    pgb_ctx *ctx = s->job->ctx;
    char local[PATH_MAX], program[PATH_MAX], *data = NULL;
    snprintf(local, sizeof(local), "%s/toc.dat", sp->dir);
    FILE *f = fopen(local, "rbe");
    long length = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        length = ftell(f);
    int rc = f && length >= 0 ? PGB_OK : pgb_error_set(ctx, PGB_ERROR, "pg_dump wrote no %s", local);
    if (rc == PGB_OK && !(data = malloc((size_t)length + 1)))
        rc = pgb_error_nomem(ctx);
    if (rc == PGB_OK && (fseek(f, 0, SEEK_SET) != 0 || fread(data, 1, (size_t)length, f) != (size_t)length))
        rc = pgb_error_set(ctx, PGB_EIO, "cannot read %s", local);
    if (f)
        fclose(f);
    int complete = 0;
    if (rc == PGB_OK)
        rc = pgb_archive_parse_toc(ctx, (const uint8_t *)data, (size_t)length, toc, &complete);
    if (rc == PGB_OK && (!complete || toc->format != PGB_ARCHIVE_DIRECTORY_TOC))
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "%s is not the toc.dat of a directory archive", local);
    char *path = NULL;
    uint64_t size = 0;
    if (rc == PGB_OK)
        rc = pgb_logical_database_path(ctx, sp->name, "dir/toc.dat", &path);
    if (rc == PGB_OK)
        rc = pgb_logical_session_store_file(s, path, local, &size);
    sp->size += size;
    if (rc == PGB_OK) {
        pgb_pg_program_path(&s->programs, "pg_restore", program);
        const char *argv[] = {program, "--list", "--verbose", sp->dir, NULL};
        rc = pgb_child_run(ctx, argv, NULL, NULL, 0, listing, listing_size);
    }
    if (rc == PGB_OK)
        toc->archive_size = sp->size;
    free(path);
    free(data);
    return rc;
}

int pgb_directory_dump(struct logical_session *s, const char *name, const char *conninfo,
                       struct pgb_archive_toc *toc, char **listing, size_t *listing_size, uint64_t *size)
{
    pgb_ctx *ctx = s->job->ctx;
    struct spool sp = {.s = s, .name = name, .watch = -1};
    memset(toc, 0, sizeof(*toc));
    *listing = NULL;
    *size = 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(sp.root, sizeof(sp.root), "%s/pgbackup-dump-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    int rc = PGB_OK;
    if (!mkdtemp(sp.root)) {
        rc = pgb_error_set(ctx, PGB_EIO, "cannot make a private spool folder %s: %s", sp.root, strerror(errno));
        sp.root[0] = '\0';
    }
    /* pg_dump accepts an empty folder that exists: watching it can start before the first file. */
    snprintf(sp.dir, sizeof(sp.dir), "%s/archive", sp.root);
    if (rc == PGB_OK && mkdir(sp.dir, 0700) != 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot make %s: %s", sp.dir, strerror(errno));
    if (rc == PGB_OK && ((sp.watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
                         inotify_add_watch(sp.watch, sp.dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0))
        rc = pgb_error_set(ctx, PGB_EIO, "cannot watch %s: %s", sp.dir, strerror(errno));
    if (rc == PGB_OK)
        rc = run_pg_dump(&sp, conninfo);
    if (rc == PGB_OK)
        rc = finish_toc(&sp, toc, listing, listing_size);
    if (sp.watch >= 0)
        close(sp.watch);
    if (sp.root[0])
        nftw(sp.root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (rc != PGB_OK) {
        pgb_archive_toc_clear(toc);
        free(*listing);
        *listing = NULL;
        return rc;
    }
    *size = sp.size;
    return PGB_OK;
}
