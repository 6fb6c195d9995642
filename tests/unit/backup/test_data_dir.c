/*
 * What a local backup takes from a data directory, on a small fake tree that
 * has one of everything the server's base backup leaves out: folders whose
 * content is skipped, excluded file names at any depth, pgsql_tmp, temporary
 * relations, unlogged relations (all forks but _init, only in database
 * folders), pg_wal, special files, links outside pg_tblspc, a tablespace with
 * folders of two server versions; and global/pg_control last.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "backup/data_dir.h"
#include "repo/file_list.h"
#include "test_main.h"

static pgb_ctx *ctx;
static char root[64], pgdata[128], tablespace[128];
static const char version_dir[] = "PG_15_202209061";

static void make_file(const char *base, const char *rel, const void *data, size_t size)
{
    char path[PATH_MAX], command[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    snprintf(command, sizeof(command), "mkdir -p \"$(dirname '%s')\"", path);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, data, size), (ssize_t)size);
    close(fd);
}

static void touch(const char *base, const char *rel)
{
    make_file(base, rel, "x", 1);
}

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-datadir-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    snprintf(pgdata, sizeof(pgdata), "%s/data", root);
    snprintf(tablespace, sizeof(tablespace), "%s/ts", root);
    return 0;
}

static int teardown(void)
{
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    pgb_ctx_free(ctx);
    return system(command) != 0;
}

/* The fake cluster. */
static void build_tree(void)
{
    static const char *const kept[] = {
        "PG_VERSION", "postgresql.conf", "postgresql.auto.conf", "current_logfiles", "global/1260",
        "global/1260_vm", "global/pg_filenode.map", "base/1/PG_VERSION", "base/1/pg_filenode.map", "base/1/1259",
        "base/1/1259_fsm", "base/1/1259.1", "base/1/16384_init", "base/1/t3_abc", "base/1/123_bogus",
        "base/1/16500.x", "base/notdb/16384", "base/notdb/16384_init", "pg_xact/0000", "pg_logical/replorigin_checkpoint",
        NULL};
    static const char *const skipped[] = {
        "postgresql.auto.conf.tmp", "current_logfiles.tmp", "backup_label", "tablespace_map", "backup_manifest",
        "postmaster.pid", "postmaster.opts", "pgsql_tmp_file", "global/pg_internal.init",
        "base/1/pg_internal.init.1234", "base/1/16384", "base/1/16384_fsm", "base/1/16384_vm", "base/1/16384.2",
        "base/1/t3_16390", "base/1/t3_16390_fsm", "base/1/t3_16390.1", "base/1/pgsql_tmp/pgsql_tmp1.0",
        "base/pgsql_tmp/pgsql_tmp123.0", "pg_stat_tmp/global.stat", "pg_replslot/slot1/state", "pg_dynshmem/mmap.1",
        "pg_notify/0000", "pg_serial/0000", "pg_snapshots/00000003-1", "pg_subtrans/0000",
        "pg_wal/000000010000000000000001", "pg_wal/archive_status/000000010000000000000001.done", NULL};
    for (int i = 0; kept[i]; i++)
        touch(pgdata, kept[i]);
    for (int i = 0; skipped[i]; i++)
        touch(pgdata, skipped[i]);
    /* pg_control: system identifier, control version, catalog version, in the machine's order. */
    uint8_t control[8192] = {0};
    uint64_t system_identifier = UINT64_C(7312345678901234567);
    uint32_t control_version = 1300, catalog_version = 202209061;
    memcpy(control, &system_identifier, 8);
    memcpy(control + 8, &control_version, 4);
    memcpy(control + 12, &catalog_version, 4);
    make_file(pgdata, "global/pg_control", control, sizeof(control));

    static const char *const tablespace_kept[] = {"PG_15_202209061/1/16401", "PG_15_202209061/1/16401_fsm",
                                                  "PG_15_202209061/1/16402_init", NULL};
    static const char *const tablespace_skipped[] = {"PG_15_202209061/1/16402", "PG_15_202209061/1/t5_16403",
                                                     "PG_14_202107181/1/99", "PG_15_202209061/1/pgsql_tmp/x", NULL};
    for (int i = 0; tablespace_kept[i]; i++)
        touch(tablespace, tablespace_kept[i]);
    for (int i = 0; tablespace_skipped[i]; i++)
        touch(tablespace, tablespace_skipped[i]);

    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/pg_tblspc", pgdata);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/pg_tblspc/16400", pgdata);
    CU_ASSERT_EQUAL_FATAL(symlink(tablespace, path), 0);
    snprintf(path, sizeof(path), "%s/a_fifo", pgdata);
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/link_elsewhere", pgdata);
    CU_ASSERT_EQUAL_FATAL(symlink("/tmp", path), 0);
}

static const struct pgb_data_dir_entry *find(const struct pgb_data_dir *d, const char *path)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->entries[i].path, path) == 0)
            return &d->entries[i];
    return NULL;
}

static size_t position(const struct pgb_data_dir *d, const char *path)
{
    const struct pgb_data_dir_entry *e = find(d, path);
    return e ? (size_t)(e - d->entries) : (size_t)-1;
}

static void expect(const struct pgb_data_dir *d, const char *path, int type)
{
    const struct pgb_data_dir_entry *e = find(d, path);
    if (!e || e->type != type)
        fprintf(stderr, "expected %s (type %d): %s\n", path, type, e ? "other type" : "missing");
    CU_ASSERT_PTR_NOT_NULL(e);
    if (e)
        CU_ASSERT_EQUAL(e->type, type);
}

static void test_walk_applies_the_servers_exclusion_rules(void)
{
    build_tree();
    struct pgb_data_dir d;
    CU_ASSERT_EQUAL_FATAL(pgb_data_dir_walk(ctx, pgdata, version_dir, &d), PGB_OK);

    static const char *const files[] = {
        "PG_VERSION", "postgresql.conf", "postgresql.auto.conf", "current_logfiles", "global/1260",
        "global/1260_vm", "global/pg_filenode.map", "base/1/PG_VERSION", "base/1/pg_filenode.map", "base/1/1259",
        "base/1/1259_fsm", "base/1/1259.1", "base/1/16384_init", "base/1/t3_abc", "base/1/123_bogus",
        "base/1/16500.x", "base/notdb/16384", "base/notdb/16384_init", "pg_xact/0000",
        "pg_logical/replorigin_checkpoint", "pg_tblspc/16400/PG_15_202209061/1/16401",
        "pg_tblspc/16400/PG_15_202209061/1/16401_fsm", "pg_tblspc/16400/PG_15_202209061/1/16402_init",
        "global/pg_control", NULL};
    static const char *const folders[] = {
        "global", "base", "base/1", "base/notdb", "pg_xact", "pg_logical", "pg_stat_tmp", "pg_replslot",
        "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans", "pg_wal", "pg_wal/archive_status",
        "pg_tblspc", "pg_tblspc/16400/PG_15_202209061", "pg_tblspc/16400/PG_15_202209061/1", NULL};
    size_t expected = 1; /* the pg_tblspc/16400 link */
    for (int i = 0; files[i]; i++, expected++)
        expect(&d, files[i], PGB_FILE_REGULAR);
    for (int i = 0; folders[i]; i++, expected++)
        expect(&d, folders[i], PGB_FILE_DIRECTORY);
    expect(&d, "pg_tblspc/16400", PGB_FILE_SYMLINK);
    /* Nothing else: every excluded name, skipped content, special file and stray link is left out. */
    if (d.count != expected)
        for (size_t i = 0; i < d.count; i++)
            fprintf(stderr, "walked: %s\n", d.entries[i].path);
    CU_ASSERT_EQUAL(d.count, expected);
    CU_ASSERT_EQUAL(d.file_count, 24);

    /* pg_control last; folders before what they hold. */
    CU_ASSERT_STRING_EQUAL(d.entries[d.count - 1].path, "global/pg_control");
    CU_ASSERT(position(&d, "base/1") < position(&d, "base/1/1259"));
    CU_ASSERT(position(&d, "pg_tblspc/16400/PG_15_202209061") <
              position(&d, "pg_tblspc/16400/PG_15_202209061/1/16401"));

    /* The tablespace: a link to its location, recorded as a tablespace. */
    const struct pgb_data_dir_entry *link = find(&d, "pg_tblspc/16400");
    CU_ASSERT_PTR_NOT_NULL_FATAL(link);
    CU_ASSERT_STRING_EQUAL(link->link, tablespace);
    CU_ASSERT_EQUAL_FATAL(d.tablespace_count, 1);
    CU_ASSERT_EQUAL(d.tablespaces[0].oid, 16400);
    CU_ASSERT_STRING_EQUAL(d.tablespaces[0].location, tablespace);

    /* Which files have checksummed pages, and their segment numbers. */
    CU_ASSERT_EQUAL(find(&d, "global/1260")->relation, 1);
    CU_ASSERT_EQUAL(find(&d, "global/1260_vm")->relation, 1);
    CU_ASSERT_EQUAL(find(&d, "base/1/1259_fsm")->relation, 1);
    CU_ASSERT_EQUAL(find(&d, "base/1/16384_init")->relation, 1);
    CU_ASSERT_EQUAL(find(&d, "pg_tblspc/16400/PG_15_202209061/1/16401")->relation, 1);
    CU_ASSERT_EQUAL(find(&d, "base/1/1259.1")->relation, 1);
    CU_ASSERT_EQUAL(find(&d, "base/1/1259.1")->segment, 1);
    CU_ASSERT_EQUAL(find(&d, "base/1/1259")->segment, 0);
    static const char *const not_relations[] = {"global/pg_control", "global/pg_filenode.map", "base/1/PG_VERSION",
                                                "base/1/pg_filenode.map", "base/1/t3_abc", "base/1/123_bogus",
                                                "base/1/16500.x", "PG_VERSION", "pg_xact/0000", NULL};
    for (int i = 0; not_relations[i]; i++)
        CU_ASSERT_EQUAL(find(&d, not_relations[i])->relation, 0);
    /* Sources are read through the pg_tblspc link. */
    char source[PATH_MAX];
    snprintf(source, sizeof(source), "%s/pg_tblspc/16400/PG_15_202209061/1/16401", pgdata);
    CU_ASSERT_STRING_EQUAL(find(&d, "pg_tblspc/16400/PG_15_202209061/1/16401")->source, source);
    pgb_data_dir_clear(&d);
}

static void test_control_file_gives_system_and_catalog_version(void)
{
    uint64_t system_identifier = 0;
    uint32_t catalog_version = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_data_dir_read_control(ctx, pgdata, &system_identifier, &catalog_version), PGB_OK);
    CU_ASSERT_EQUAL(system_identifier, UINT64_C(7312345678901234567));
    CU_ASSERT_EQUAL(catalog_version, 202209061);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/nothing", root);
    CU_ASSERT_EQUAL(pgb_data_dir_read_control(ctx, missing, &system_identifier, &catalog_version), PGB_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "nothing/global/pg_control"));
}

static void test_walk_refuses_a_folder_without_control_file(void)
{
    char empty[160];
    snprintf(empty, sizeof(empty), "%s/empty", root);
    CU_ASSERT_EQUAL_FATAL(mkdir(empty, 0700), 0);
    struct pgb_data_dir d;
    CU_ASSERT_EQUAL(pgb_data_dir_walk(ctx, empty, version_dir, &d), PGB_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_control"));
    pgb_data_dir_clear(&d);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"walk_applies_the_servers_exclusion_rules", test_walk_applies_the_servers_exclusion_rules},
        {"control_file_gives_system_and_catalog_version", test_control_file_gives_system_and_catalog_version},
        {"walk_refuses_a_folder_without_control_file", test_walk_refuses_a_folder_without_control_file},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"data_dir", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
