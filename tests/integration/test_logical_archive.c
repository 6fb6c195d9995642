/*
 * The archive a logical backup stores, against a real pg_dump 15: pg_dump -Fc
 * written to a pipe and passed through the archive scanner, with the data
 * offsets it recorded written into the TOC, is byte for byte the file pg_dump
 * writes itself when it can seek (but for the creation time in the header),
 * so pg_restore -j and -L find every block without scanning. And pg_restore
 * -l reads the TOC from the header and TOC bytes alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "logical/archive_scanner.h"
#include "logical/child_process.h"
#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;
static pgb_ctx *ctx;

static int setup(void)
{
    if (pg_fixture_start(&server, NULL) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    char out[256];
    if (pg_fixture_psql(&server,
                        "CREATE TABLE a AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 20000) g;"
                        "CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b SELECT g, repeat('x', g % 50)"
                        " FROM generate_series(1, 3000) g; CREATE TABLE empty (x int);"
                        "SELECT lo_from_bytea(0, 'large object bytes')",
                        out, sizeof(out)) != 0)
        return 1;
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    pg_fixture_stop(&server);
    return 0;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *data = malloc((size_t)n);
    *size = fread(data, 1, (size_t)n, f);
    fclose(f);
    return data;
}

static void test_piped_archive_with_offsets_is_what_pg_dump_writes_to_a_file(void)
{
    char program[1100], dbname[600], file[400];
    snprintf(program, sizeof(program), "%s/pg_dump", server.bindir);
    snprintf(dbname, sizeof(dbname), "--dbname=%s", server.conninfo);
    snprintf(file, sizeof(file), "%s/direct.dump", server.dir);

    /* Through a pipe, as a backup runs it. */
    const char *piped[] = {program, "--format=custom", "--compress=1", dbname, NULL};
    pgb_child *child = NULL;
    pgb_archive_scanner *scanner = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_child_start(ctx, piped, NULL, PGB_CHILD_STDOUT, &child), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_archive_scanner_new(ctx, &scanner), PGB_OK);
    size_t capacity = 1 << 24, size = 0, got = 0;
    unsigned char *stream = malloc(capacity);
    while (pgb_child_read(child, stream + size, 65536, &got) == PGB_OK && got) {
        CU_ASSERT_EQUAL(pgb_archive_scanner_feed(scanner, stream + size, got), PGB_OK);
        size += got;
        CU_ASSERT_FATAL(size + 65536 < capacity);
    }
    int status = -1;
    CU_ASSERT_EQUAL(pgb_child_wait(child, &status), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(status, 0);
    CU_ASSERT_EQUAL_FATAL(pgb_archive_scanner_finish(scanner), PGB_OK);
    pgb_child_free(child);

    /* Straight to a file, where pg_dump seeks back to write the offsets. */
    const char *direct[] = {program, "--format=custom", "--compress=1", dbname, "--file", file, NULL};
    CU_ASSERT_EQUAL_FATAL(pgb_child_run(ctx, direct, NULL, NULL, 0, NULL, NULL), PGB_OK);
    size_t file_size = 0;
    unsigned char *written = read_file(file, &file_size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(written);
    CU_ASSERT_EQUAL_FATAL(file_size, size);

    const struct pgb_archive_toc *toc = pgb_archive_scanner_toc(scanner);
    size_t blocks = 0;
    for (size_t i = 0; i < toc->count; i++)
        blocks += toc->entries[i].data_offset >= 0;
    CU_ASSERT(blocks >= 3); /* a, b and the large objects; the empty table too */
    pgb_archive_toc_patch_offsets(toc, stream, toc->prefix_size);
    /* The header's creation time (7 integers after the 11 fixed bytes and the compression integer) may differ. */
    size_t time_start = 11 + 5, time_end = time_start + 7 * 5;
    memset(stream + time_start, 0, time_end - time_start);
    memset(written + time_start, 0, time_end - time_start);
    CU_ASSERT_EQUAL(memcmp(stream, written, size), 0);

    /* pg_restore -l lists the TOC from the header and TOC alone. */
    char restore[1100];
    snprintf(restore, sizeof(restore), "%s/pg_restore", server.bindir);
    const char *list[] = {restore, "--list", "--verbose", NULL};
    char *listing = NULL;
    CU_ASSERT_EQUAL(pgb_child_run(ctx, list, NULL, stream, toc->prefix_size, &listing, NULL), PGB_OK);
    CU_ASSERT_PTR_NOT_NULL(listing && strstr(listing, "TABLE DATA public a postgres"));
    CU_ASSERT_PTR_NOT_NULL(listing && strstr(listing, ";\tdepends on:"));
    free(listing);
    free(written);
    free(stream);
    pgb_archive_scanner_free(scanner);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"test_piped_archive_with_offsets_is_what_pg_dump_writes_to_a_file",
         test_piped_archive_with_offsets_is_what_pg_dump_writes_to_a_file},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"logical_archive", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
