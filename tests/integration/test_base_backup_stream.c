/*
 * Base backups streamed from a real PostgreSQL 15 server with a tablespace:
 * every file written must be the one the server's own backup_manifest lists,
 * with the same SHA-256; failures and cancellation must leave the server
 * usable; and the backup, with the WAL streamed beside it, must start as a
 * server that has the rows of the source, including one inserted during the
 * backup.
 *
 * Set PGB_BENCH_BASE_BACKUP=1 to also time a ~200 MB pgbench cluster through
 * this code and through pg_basebackup -Fp -X stream (printed, not asserted).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <pgbackup/pgbackup.h>

#include "core/error.h"
#include "pg/base_backup.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pg/wal_streamer.h"
#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;
static pgb_ctx *ctx;
static char tablespace_dir[512];
static char tablespace_oid[32];
static int serial;

/* ---- helpers: processes, files, SQL ---- */

static int run_program(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdir_parents(char *path, mode_t mode)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, mode);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static void psql_on(const struct pg_fixture *f, const char *sql, char *out, size_t size)
{
    int status = pg_fixture_psql(f, sql, out, size);
    if (status != 0)
        fprintf(stderr, "psql failed (%d): %s\n%s\n", status, sql, out);
    CU_ASSERT_EQUAL_FATAL(status, 0);
}

static void psql(const char *sql, char *out, size_t size)
{
    psql_on(&server, sql, out, size);
}

static void report(int rc)
{
    if (rc != PGB_OK)
        fprintf(stderr, "\n  error %s: %s [%s]\n", pgb_status_name(rc), pgb_ctx_errmsg(ctx), pgb_ctx_errdetail(ctx));
}

static void fresh_dir(char *out, size_t size, const char *what)
{
    snprintf(out, size, "%s/%s%d", server.dir, what, ++serial);
    CU_ASSERT_EQUAL_FATAL(mkdir(out, 0700), 0);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- a writer of entries into a directory, as the callbacks see them ---- */

struct written_file {
    char *path;
    char sha256[65];
    uint64_t size;
};

struct writer {
    char root[1024];
    int fd;
    char current[PATH_MAX];
    int current_type;
    uint64_t current_size;
    EVP_MD_CTX *sha;
    struct written_file *files;
    size_t file_count, file_capacity;
    size_t directories, symlinks;
    char last_link_target[1024];
    char *manifest;
    size_t manifest_size, manifest_capacity;
    int progress_calls;
    uint64_t last_done, last_total;
    uint64_t bytes_written;

    /* behaviour under test */
    uint64_t fail_after_bytes; /* entry_data fails with PGB_EIO once past this (0: never) */
    int cancel_in_progress;    /* the progress callback sets the cancel flag */
    int fail_on_started;       /* on_started returns this */
    pgb_wal_streamer *streamer;/* started from on_started */
    const char *sql_on_started;/* run while the backup is under way */
    int started_calls;
};

static int w_begin(void *payload, const struct pgb_backup_entry *entry)
{
    struct writer *w = payload;
    snprintf(w->current, sizeof(w->current), "%s/%s", w->root, entry->path);
    if (mkdir_parents(w->current, 0700) != 0)
        return pgb_error_set(ctx, PGB_EIO, "test writer: cannot make parents of %s", w->current);
    w->current_type = entry->type;
    w->current_size = 0;
    switch (entry->type) {
    case PGB_ENTRY_DIRECTORY:
        w->directories++;
        if (mkdir(w->current, entry->mode & 0777) != 0 && errno != EEXIST)
            return pgb_error_set(ctx, PGB_EIO, "test writer: mkdir %s: %s", w->current, strerror(errno));
        return 0;
    case PGB_ENTRY_SYMLINK:
        w->symlinks++;
        snprintf(w->last_link_target, sizeof(w->last_link_target), "%s", entry->link_target);
        /* pg_tblspc/<oid> comes after the tablespace's content, already written as a folder here. */
        if (access(w->current, F_OK) == 0)
            return 0;
        return symlink(entry->link_target, w->current) == 0 ? 0 : pgb_error_set(ctx, PGB_EIO, "test writer: symlink");
    default:
        w->fd = open(w->current, O_WRONLY | O_CREAT | O_TRUNC, entry->mode & 0777);
        if (w->fd < 0)
            return pgb_error_set(ctx, PGB_EIO, "test writer: open %s: %s", w->current, strerror(errno));
        EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL);
        return 0;
    }
}

static int w_data(void *payload, const uint8_t *data, size_t size)
{
    struct writer *w = payload;
    if (w->fail_after_bytes && w->bytes_written > w->fail_after_bytes)
        return pgb_error_set(ctx, PGB_EIO, "test writer: disk full at %s", w->current);
    for (size_t done = 0; done < size;) {
        ssize_t n = write(w->fd, data + done, size - done);
        if (n <= 0)
            return pgb_error_set(ctx, PGB_EIO, "test writer: write %s: %s", w->current, strerror(errno));
        done += (size_t)n;
    }
    EVP_DigestUpdate(w->sha, data, size);
    w->current_size += size;
    w->bytes_written += size;
    return 0;
}

static int w_end(void *payload)
{
    struct writer *w = payload;
    if (w->current_type != PGB_ENTRY_FILE)
        return 0;
    close(w->fd);
    w->fd = -1;
    unsigned char digest[32];
    EVP_DigestFinal_ex(w->sha, digest, NULL);
    if (w->file_count == w->file_capacity) {
        w->file_capacity = w->file_capacity ? 2 * w->file_capacity : 256;
        w->files = realloc(w->files, w->file_capacity * sizeof(*w->files));
    }
    struct written_file *f = &w->files[w->file_count++];
    f->path = strdup(w->current + strlen(w->root) + 1);
    f->size = w->current_size;
    for (int i = 0; i < 32; i++)
        snprintf(f->sha256 + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

static int w_manifest(void *payload, const uint8_t *data, size_t size)
{
    struct writer *w = payload;
    if (w->manifest_size + size + 1 > w->manifest_capacity) {
        w->manifest_capacity = 2 * (w->manifest_size + size + 1);
        w->manifest = realloc(w->manifest, w->manifest_capacity);
    }
    memcpy(w->manifest + w->manifest_size, data, size);
    w->manifest_size += size;
    w->manifest[w->manifest_size] = '\0';
    return 0;
}

static int w_progress(void *payload, uint64_t done, uint64_t total)
{
    struct writer *w = payload;
    CU_ASSERT(done >= w->last_done);
    w->progress_calls++;
    w->last_done = done;
    w->last_total = total;
    if (w->cancel_in_progress)
        pgb_ctx_cancel(ctx);
    return 0;
}

static int w_started(void *payload, uint64_t start_lsn, uint32_t tli)
{
    struct writer *w = payload;
    w->started_calls++;
    if (w->fail_on_started)
        return pgb_error_set(ctx, w->fail_on_started, "test: the WAL streamer could not start");
    if (w->streamer) {
        int rc = pgb_wal_streamer_start(w->streamer, start_lsn, tli);
        if (rc != PGB_OK)
            return rc;
    }
    if (w->sql_on_started) {
        char out[256];
        if (pg_fixture_psql(&server, w->sql_on_started, out, sizeof(out)) != 0)
            return pgb_error_set(ctx, PGB_ERROR, "test: %s failed: %s", w->sql_on_started, out);
    }
    return 0;
}

static void writer_init(struct writer *w, const char *root)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->root, sizeof(w->root), "%s", root);
    w->fd = -1;
    w->sha = EVP_MD_CTX_new();
}

static void writer_clear(struct writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->file_count; i++)
        free(w->files[i].path);
    free(w->files);
    free(w->manifest);
    EVP_MD_CTX_free(w->sha);
}

static const struct written_file *find_file(const struct writer *w, const char *path)
{
    for (size_t i = 0; i < w->file_count; i++)
        if (strcmp(w->files[i].path, path) == 0)
            return &w->files[i];
    return NULL;
}

static struct pgb_base_backup_callbacks writer_callbacks(struct writer *w)
{
    return (struct pgb_base_backup_callbacks){.payload = w, .entry_begin = w_begin, .entry_data = w_data,
                                              .entry_end = w_end, .manifest_data = w_manifest,
                                              .progress = w_progress};
}

static PGconn *replication_connection(void)
{
    PGconn *conn = NULL;
    int rc = pgb_pg_connect(ctx, server.conninfo, PGB_PG_REPLICATION, &conn);
    report(rc);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    return conn;
}

static int run_backup(PGconn *conn, struct writer *w, struct pgb_base_backup_result *result, int progress)
{
    struct pgb_base_backup_options opts;
    pgb_base_backup_options_init(&opts);
    opts.label = "pgbackup's test";
    opts.fast_checkpoint = 1;
    opts.progress = progress;
    struct pgb_base_backup_callbacks cb = writer_callbacks(w);
    return pgb_base_backup_run(ctx, conn, &opts, &cb, w_started, result);
}

/* ---- the cluster under test ---- */

static int setup(void)
{
    static const char *const settings[] = {"max_wal_senders = 4", "wal_level = replica", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    if (pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    snprintf(tablespace_dir, sizeof(tablespace_dir), "%s/tablespace", server.dir);
    if (mkdir(tablespace_dir, 0700) != 0)
        return 1;
    char sql[1024], out[256];
    snprintf(sql, sizeof(sql), "CREATE TABLESPACE ts LOCATION '%s'", tablespace_dir);
    const char *statements[] = {
        sql,
        "CREATE TABLE in_tablespace (id int PRIMARY KEY, note text) TABLESPACE ts",
        "INSERT INTO in_tablespace SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
        "CREATE TABLE in_default (id int PRIMARY KEY, note text)",
        "INSERT INTO in_default SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 50000) g",
        "CREATE TABLE during_backup (id int, note text)",
        "INSERT INTO during_backup VALUES (1, 'before')",
        "CREATE TABLE wal_filler (id int, pad text)",
        NULL,
    };
    for (int i = 0; statements[i]; i++)
        if (pg_fixture_psql(&server, statements[i], out, sizeof(out)) != 0) {
            fprintf(stderr, "setup: %s: %s\n", statements[i], out);
            return 1;
        }
    if (pg_fixture_psql(&server, "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'", tablespace_oid,
                        sizeof(tablespace_oid)) != 0)
        return 1;
    return 0;
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    pg_fixture_stop(&server);
    return 0;
}

/* Every regular file written is a "Files" entry of the manifest with the same size and SHA-256, and back. */
static void assert_files_match_manifest(const struct writer *w, json_t *manifest)
{
    json_t *files = json_object_get(manifest, "Files");
    CU_ASSERT_FATAL(json_is_array(files));
    CU_ASSERT_EQUAL(json_array_size(files), w->file_count);
    size_t matched = 0;
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *file = json_array_get(files, i);
        const char *path = json_string_value(json_object_get(file, "Path"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(path); /* no Encoded-Path: all names are plain here */
        const struct written_file *written = find_file(w, path);
        if (!written) {
            fprintf(stderr, "\n  manifest lists %s, which was not written\n", path);
            CU_FAIL("file missing");
            continue;
        }
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(file, "Checksum-Algorithm")), "SHA256");
        CU_ASSERT_EQUAL((uint64_t)json_integer_value(json_object_get(file, "Size")), written->size);
        const char *checksum = json_string_value(json_object_get(file, "Checksum"));
        if (!checksum || strcmp(checksum, written->sha256) != 0)
            fprintf(stderr, "\n  checksum of %s differs\n", path);
        else
            matched++;
    }
    CU_ASSERT_EQUAL(matched, w->file_count);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_backup_files_match_the_servers_manifest(void)
{
    char root[512], out[512];
    fresh_dir(root, sizeof(root), "backup");
    struct writer w;
    writer_init(&w, root);
    PGconn *conn = replication_connection();
    struct pgb_base_backup_result result;
    int rc = run_backup(conn, &w, &result, 1);
    report(rc);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);

    CU_ASSERT_EQUAL(w.started_calls, 1);
    CU_ASSERT(result.start_lsn > 0 && result.start_lsn <= result.end_lsn);
    CU_ASSERT_EQUAL(result.start_tli, 1);
    CU_ASSERT_EQUAL(result.end_tli, 1);
    CU_ASSERT_EQUAL(result.checksum_failures, 0);
    CU_ASSERT(result.server_version_num >= 150000 && result.server_version_num < 160000);
    psql("SELECT system_identifier FROM pg_control_system()", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(result.system_identifier, out);
    CU_ASSERT_EQUAL_FATAL(result.tablespace_count, 1);
    CU_ASSERT_EQUAL(result.tablespaces[0].oid, (uint32_t)atoi(tablespace_oid));
    CU_ASSERT_STRING_EQUAL(result.tablespaces[0].location, tablespace_dir);

    /* The manifest is the server's, whole, and agrees with what we were told. */
    json_error_t error;
    json_t *manifest = json_loadb(w.manifest, w.manifest_size, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(manifest);
    assert_files_match_manifest(&w, manifest);
    json_t *range = json_array_get(json_object_get(manifest, "WAL-Ranges"), 0);
    char lsn[PGB_LSN_TEXT_SIZE];
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(range, "Start-LSN")),
                           pgb_lsn_format(result.start_lsn, lsn));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(range, "End-LSN")), pgb_lsn_format(result.end_lsn, lsn));
    json_decref(manifest);

    /* backup_label, and the pg_tblspc/<oid> link to the tablespace's location (no tablespace_map). */
    CU_ASSERT_PTR_NOT_NULL(find_file(&w, "backup_label"));
    CU_ASSERT_PTR_NULL(find_file(&w, "tablespace_map"));
    CU_ASSERT_PTR_NOT_NULL(find_file(&w, "global/pg_control"));
    CU_ASSERT_EQUAL(w.symlinks, 1);
    CU_ASSERT_STRING_EQUAL(w.last_link_target, tablespace_dir);
    CU_ASSERT(w.directories > 10);
    char path[1024], expected[1024];
    snprintf(path, sizeof(path), "%s/backup_label", root);
    const char *label = slurp(path);
    snprintf(expected, sizeof(expected), "START WAL LOCATION: %s (file ", pgb_lsn_format(result.start_lsn, lsn));
    CU_ASSERT_PTR_NOT_NULL(strstr(label, expected));
    CU_ASSERT_PTR_NOT_NULL(strstr(label, "LABEL: pgbackup's test\n"));

    /* The tablespace's table file, under the path the server itself gives for it. */
    psql("SELECT pg_relation_filepath('in_tablespace')", out, sizeof(out));
    snprintf(expected, sizeof(expected), "pg_tblspc/%s/PG_15_", tablespace_oid);
    CU_ASSERT_EQUAL(strncmp(out, expected, strlen(expected)), 0);
    const struct written_file *table = find_file(&w, out);
    CU_ASSERT_PTR_NOT_NULL(table);
    CU_ASSERT(table && table->size >= 8192);
    psql("SELECT pg_relation_filepath('in_default')", out, sizeof(out));
    CU_ASSERT_PTR_NOT_NULL(find_file(&w, out));

    /* Progress arrived and ended at the total. */
    CU_ASSERT(w.progress_calls >= 2);
    CU_ASSERT(w.last_total > 0);
    CU_ASSERT_EQUAL(w.last_done, w.last_total);

    pgb_base_backup_result_clear(&result);
    writer_clear(&w);
    PQfinish(conn);
}

/* After a failed backup the same connection takes a full backup again. */
static void assert_connection_takes_a_backup(PGconn *conn)
{
    char root[512];
    fresh_dir(root, sizeof(root), "again");
    struct writer w;
    writer_init(&w, root);
    struct pgb_base_backup_result result;
    int rc = run_backup(conn, &w, &result, 0);
    report(rc);
    CU_ASSERT_EQUAL(rc, PGB_OK);
    CU_ASSERT(w.manifest_size > 0);
    CU_ASSERT_PTR_NOT_NULL(find_file(&w, "global/pg_control"));
    pgb_base_backup_result_clear(&result);
    writer_clear(&w);
    char out[64];
    psql("SELECT count(*) FROM pg_stat_progress_basebackup", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0");
}

static void test_callback_error_stops_the_backup_with_its_code(void)
{
    char root[512];
    fresh_dir(root, sizeof(root), "failing");
    struct writer w;
    writer_init(&w, root);
    w.fail_after_bytes = 1 << 20;
    PGconn *conn = replication_connection();
    struct pgb_base_backup_result result;
    CU_ASSERT_EQUAL(run_backup(conn, &w, &result, 0), PGB_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "test writer: disk full"));
    CU_ASSERT(w.bytes_written < (8u << 20)); /* stopped there, not at the end */
    CU_ASSERT_EQUAL(w.manifest_size, 0);
    pgb_base_backup_result_clear(&result);
    writer_clear(&w);
    assert_connection_takes_a_backup(conn);
    PQfinish(conn);
}

static void test_on_started_error_stops_the_backup(void)
{
    char root[512];
    fresh_dir(root, sizeof(root), "nostart");
    struct writer w;
    writer_init(&w, root);
    w.fail_on_started = PGB_ECONNECTION;
    PGconn *conn = replication_connection();
    struct pgb_base_backup_result result;
    CU_ASSERT_EQUAL(run_backup(conn, &w, &result, 0), PGB_ECONNECTION);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "test: the WAL streamer could not start");
    CU_ASSERT(result.start_lsn > 0);
    CU_ASSERT_EQUAL(w.file_count, 0);
    pgb_base_backup_result_clear(&result);
    writer_clear(&w);
    assert_connection_takes_a_backup(conn);
    PQfinish(conn);
}

static void test_cancel_flag_stops_the_backup(void)
{
    char root[512];
    fresh_dir(root, sizeof(root), "canceled");
    struct writer w;
    writer_init(&w, root);
    w.cancel_in_progress = 1;
    PGconn *conn = replication_connection();
    struct pgb_base_backup_result result;
    CU_ASSERT_EQUAL(run_backup(conn, &w, &result, 1), PGB_ECANCELED);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_ECANCELED);
    CU_ASSERT_EQUAL(w.progress_calls, 1);
    CU_ASSERT_EQUAL(w.manifest_size, 0);
    pgb_ctx_reset_cancel(ctx);
    pgb_base_backup_result_clear(&result);
    writer_clear(&w);
    assert_connection_takes_a_backup(conn);
    PQfinish(conn);
}

static void test_bad_options_are_refused_before_anything_starts(void)
{
    PGconn *conn = replication_connection();
    struct pgb_base_backup_options opts;
    pgb_base_backup_options_init(&opts);
    struct pgb_base_backup_result result;
    opts.manifest_checksums = "MD5";
    CU_ASSERT_EQUAL(pgb_base_backup_run(ctx, conn, &opts, NULL, NULL, &result), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "MD5"));
    pgb_base_backup_options_init(&opts);
    opts.label = "two\nlines";
    CU_ASSERT_EQUAL(pgb_base_backup_run(ctx, conn, &opts, NULL, NULL, &result), PGB_EINVALID);
    pgb_base_backup_result_clear(&result);
    PQfinish(conn);

    /* An ordinary connection cannot run replication commands: say so. */
    PGconn *sql = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_pg_connect(ctx, server.conninfo, PGB_PG_SQL, &sql), PGB_OK);
    CU_ASSERT_EQUAL(pgb_base_backup_run(ctx, sql, NULL, NULL, NULL, &result), PGB_ECONNECTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "replication connection"));
    pgb_base_backup_result_clear(&result);
    PQfinish(sql);
}

/* ---- the proof: the backup plus streamed WAL starts as a server with the source's rows ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 && getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buffer[65536];
    ssize_t n;
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    while (rc == 0 && (n = read(in, buffer, sizeof(buffer))) > 0)
        rc = write(out, buffer, (size_t)n) == n ? 0 : -1;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Backup + WAL into <root>/data, as a restore would lay them out; returns the WAL segment count. */
static size_t backup_with_wal(const char *root, struct writer *w, struct pgb_base_backup_result *result,
                              const char *sql_during)
{
    char data[600], spool[600];
    snprintf(data, sizeof(data), "%s/data", root);
    snprintf(spool, sizeof(spool), "%s/spool", root);
    CU_ASSERT_EQUAL_FATAL(mkdir(data, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(spool, 0700), 0);
    writer_init(w, data);
    pgb_wal_streamer *streamer = NULL;
    int rc = pgb_wal_streamer_open(ctx, server.conninfo, spool, &streamer);
    report(rc);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    w->streamer = streamer;
    w->sql_on_started = sql_during;
    PGconn *conn = replication_connection();
    rc = run_backup(conn, w, result, 0);
    report(rc);
    PQfinish(conn);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);

    const char *const *names;
    size_t count;
    rc = pgb_wal_streamer_finish(streamer, result->end_lsn, &names, &count);
    report(rc);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    uint64_t segment_size = pgb_wal_streamer_segment_size(streamer);
    CU_ASSERT_EQUAL(count, (result->end_lsn - 1) / segment_size - result->start_lsn / segment_size + 1);
    for (size_t i = 0; i < count; i++) {
        char from[700], to[700];
        snprintf(from, sizeof(from), "%s/%s", spool, names[i]);
        snprintf(to, sizeof(to), "%s/pg_wal/%s", data, names[i]);
        CU_ASSERT_EQUAL(copy_file(from, to), 0);
    }
    pgb_wal_streamer_free(streamer);

    char manifest_path[700];
    snprintf(manifest_path, sizeof(manifest_path), "%s/backup_manifest", data);
    FILE *f = fopen(manifest_path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(w->manifest, 1, w->manifest_size, f);
    fclose(f);
    return count;
}

/* Tablespace content moves out of pg_tblspc to its own place, and pg_tblspc/<oid> links there (as pg_basebackup -T). */
static void relocate_tablespace(const char *root)
{
    char from[700], to[700];
    snprintf(from, sizeof(from), "%s/data/pg_tblspc/%s", root, tablespace_oid);
    snprintf(to, sizeof(to), "%s/tablespace_%s", root, tablespace_oid);
    CU_ASSERT_EQUAL_FATAL(rename(from, to), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(to, from), 0);
}

static void test_backup_with_streamed_wal_starts_with_the_sources_rows(void)
{
    char root[512], out[1024];
    fresh_dir(root, sizeof(root), "restore");
    struct writer w;
    struct pgb_base_backup_result result;
    /* The row, and over 16 MB of WAL so that the backup needs several segments. */
    size_t segments = backup_with_wal(root, &w, &result,
                                      "INSERT INTO during_backup VALUES (2, 'during');"
                                      "INSERT INTO wal_filler"
                                      " SELECT g, repeat('x', 200) FROM generate_series(1, 80000) g");
    CU_ASSERT(segments >= 2);
    CU_ASSERT_EQUAL(w.started_calls, 1);

    /* PostgreSQL's own verifier: every file against the manifest, and the WAL from start to end parses. */
    char bindir_tool[1200], data[600], log[600];
    snprintf(bindir_tool, sizeof(bindir_tool), "%s/pg_verifybackup", server.bindir);
    snprintf(data, sizeof(data), "%s/data", root);
    snprintf(log, sizeof(log), "%s/verify.log", root);
    char *verify[] = {bindir_tool, data, NULL};
    int status = run_program(verify, log);
    if (status != 0)
        fprintf(stderr, "\n  pg_verifybackup: %s\n", slurp(log));
    CU_ASSERT_EQUAL(status, 0);

    relocate_tablespace(root);

    /* Start it as the fixture does: the same programs, a free port, a private socket folder. */
    char pg_ctl[1200], server_log[600], options[700];
    snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", server.bindir);
    snprintf(server_log, sizeof(server_log), "%s/server.log", root);
    struct pg_fixture restored = server;
    restored.port = free_port();
    snprintf(restored.dir, sizeof(restored.dir), "%.250s", root); /* fixture folders are short */
    snprintf(options, sizeof(options), "-p %d -k %s", restored.port, root);
    char *start[] = {pg_ctl, "-D", data, "-l", server_log, "-o", options, "-w", "-t", "120", "start", NULL};
    snprintf(log, sizeof(log), "%s/pg_ctl.log", root);
    status = run_program(start, log);
    if (status != 0)
        fprintf(stderr, "\n  restored server did not start:\n%s\n", slurp(server_log));
    CU_ASSERT_EQUAL(status, 0);
    if (status == 0) {
        const char *queries[] = {"SELECT count(*), sum(id) FROM in_default",
                                 "SELECT count(*), sum(id) FROM in_tablespace",
                                 "SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM during_backup",
                                 "SELECT count(*), sum(id), sum(length(pad)) FROM wal_filler", NULL};
        for (int i = 0; queries[i]; i++) {
            char source[256], copy[256];
            psql(queries[i], source, sizeof(source));
            psql_on(&restored, queries[i], copy, sizeof(copy));
            CU_ASSERT_STRING_EQUAL(copy, source);
        }
        psql_on(&restored, "SELECT string_agg(id::text, ',' ORDER BY id) FROM during_backup", out, sizeof(out));
        CU_ASSERT_STRING_EQUAL(out, "1,2"); /* the row inserted during the backup came back through the WAL */
        psql_on(&restored, "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'ts'", out,
                sizeof(out));
        char expected[700];
        snprintf(expected, sizeof(expected), "%s/tablespace_%s", root, tablespace_oid);
        CU_ASSERT_STRING_EQUAL(out, expected);
        char *stop[] = {pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop", NULL};
        CU_ASSERT_EQUAL(run_program(stop, log), 0);
    }
    pgb_base_backup_result_clear(&result);
    writer_clear(&w);
    remove_tree(root);
}

/* Last, as it damages a table: bad page checksums make the complete backup fail with XX001. */
static void test_page_checksum_failure_is_reported(void)
{
    char out[512], path[1200];
    psql("CREATE TABLE damaged AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 2000) g", out,
         sizeof(out));
    psql("SELECT count(*) FROM damaged", out, sizeof(out)); /* hint bits set before the checkpoint */
    psql("CHECKPOINT", out, sizeof(out));
    psql("SELECT pg_relation_filepath('damaged')", out, sizeof(out));
    snprintf(path, sizeof(path), "%s/%s", server.datadir, out);
    /* Garbage in the middle of page 0; its LSN (first bytes) stays older than the backup's start. */
    int fd = open(path, O_WRONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pwrite(fd, "garbage garbage garbage", 23, 4000), 23);
    close(fd);

    char root[512];
    fresh_dir(root, sizeof(root), "damaged");
    struct writer w;
    writer_init(&w, root);
    PGconn *conn = replication_connection();
    struct pgb_base_backup_result result;
    CU_ASSERT_EQUAL(run_backup(conn, &w, &result, 0), PGB_ECORRUPT);
    CU_ASSERT_EQUAL(result.checksum_failures, 1);
    CU_ASSERT(result.end_lsn >= result.start_lsn && result.end_lsn > 0);
    CU_ASSERT(w.manifest_size > 0); /* everything arrived */
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "checksum"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errdetail(ctx), "checksum verification failure"));
    pgb_base_backup_result_clear(&result);
    writer_clear(&w);
    psql("DROP TABLE damaged", out, sizeof(out));
    assert_connection_takes_a_backup(conn);
    PQfinish(conn);
}

/* ---- not a test: figures against pg_basebackup ---- */

static void test_benchmark_against_pg_basebackup(void)
{
    if (!getenv("PGB_BENCH_BASE_BACKUP"))
        return;
    char pgbench[1200], log[600], port[16], out[256];
    snprintf(pgbench, sizeof(pgbench), "%s/pgbench", server.bindir);
    snprintf(log, sizeof(log), "%s/bench.log", server.dir);
    snprintf(port, sizeof(port), "%d", server.port);
    char *init[] = {pgbench, "-i", "-q", "-s", "13", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "postgres", NULL};
    CU_ASSERT_EQUAL_FATAL(run_program(init, log), 0);
    psql("SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database", out, sizeof(out));

    for (int round = 0; round < 3; round++) {
        char root[512];
        fresh_dir(root, sizeof(root), "bench");
        struct writer w;
        struct pgb_base_backup_result result;
        double began = now_seconds();
        backup_with_wal(root, &w, &result, NULL);
        double ours = now_seconds() - began;
        uint64_t bytes = w.bytes_written;
        pgb_base_backup_result_clear(&result);
        writer_clear(&w);
        remove_tree(root);

        /* Like for like: the test writer does not fsync, and the server hashes with SHA-256 for both. */
        char tool[1200], target[600], mapping[1300];
        snprintf(tool, sizeof(tool), "%s/pg_basebackup", server.bindir);
        snprintf(target, sizeof(target), "%s/reference%d", server.dir, round);
        snprintf(mapping, sizeof(mapping), "%s=%s/tablespace", tablespace_dir, target);
        char *reference[] = {tool, "-D", target, "-Fp", "-X", "stream", "-c", "fast", "-T", mapping, "--no-sync",
                             "--manifest-checksums=SHA256", "-h", "127.0.0.1", "-p", port, "-U", "postgres", NULL};
        began = now_seconds();
        int status = run_program(reference, log);
        double theirs = now_seconds() - began;
        if (status != 0)
            printf("\n  pg_basebackup failed: %s\n", slurp(log));
        remove_tree(target);
        printf("\n  bench (cluster %s, %.1f MB of files): libpgbackup (base backup + WAL streamer, files written, "
               "SHA-256 recomputed by the test) %.2f s; pg_basebackup -Fp -X stream %.2f s (status %d); ratio %.2f\n",
               out, (double)bytes / 1e6, ours, theirs, status, ours / theirs);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"backup_files_match_the_servers_manifest", test_backup_files_match_the_servers_manifest},
        {"callback_error_stops_the_backup_with_its_code", test_callback_error_stops_the_backup_with_its_code},
        {"on_started_error_stops_the_backup", test_on_started_error_stops_the_backup},
        {"cancel_flag_stops_the_backup", test_cancel_flag_stops_the_backup},
        {"bad_options_are_refused_before_anything_starts", test_bad_options_are_refused_before_anything_starts},
        {"backup_with_streamed_wal_starts_with_the_sources_rows",
         test_backup_with_streamed_wal_starts_with_the_sources_rows},
        {"page_checksum_failure_is_reported", test_page_checksum_failure_is_reported},
        {"benchmark_against_pg_basebackup", test_benchmark_against_pg_basebackup},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"base_backup_stream", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
