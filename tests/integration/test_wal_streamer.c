/*
 * The WAL streamer against a real PostgreSQL 15 server: the segments it spools
 * are compared byte for byte with the server's own pg_wal files, their page
 * headers are checked, and its temporary slot must be gone once it is freed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pg/lsn.h"
#include "pg/wal_streamer.h"
#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;
static pgb_ctx *ctx;
static int spool_serial;

static int setup(void)
{
    static const char *const settings[] = {"max_wal_senders = 4", "wal_level = replica", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    pg_fixture_stop(&server);
    return 0;
}

static void psql(const char *sql, char *out, size_t size)
{
    int status = pg_fixture_psql(&server, sql, out, size);
    if (status != 0)
        fprintf(stderr, "psql failed (%d): %s\n%s\n", status, sql, out);
    CU_ASSERT_EQUAL_FATAL(status, 0);
}

static uint64_t sql_lsn(const char *sql)
{
    char text[64];
    psql(sql, text, sizeof(text));
    uint64_t lsn = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_lsn_parse(NULL, text, &lsn), PGB_OK);
    return lsn;
}

static void make_spool(char *out, size_t size)
{
    snprintf(out, size, "%s/spool%d", server.dir, ++spool_serial);
    CU_ASSERT_EQUAL_FATAL(mkdir(out, 0700), 0);
}

static void report(int rc)
{
    if (rc != PGB_OK)
        fprintf(stderr, "\n  error %s: %s [%s]\n", pgb_status_name(rc), pgb_ctx_errmsg(ctx), pgb_ctx_errdetail(ctx));
}

static int slot_count(void)
{
    char out[32];
    psql("SELECT count(*) FROM pg_replication_slots", out, sizeof(out));
    return atoi(out);
}

/* The slot goes when the walsender has dropped it; allow the server a moment. */
static int slots_after_wait(int expected)
{
    int count = slot_count();
    for (int i = 0; i < 50 && count != expected; i++) {
        usleep(100 * 1000);
        count = slot_count();
    }
    return count;
}

static uint16_t wal_page_magic(int version_num)
{
    switch (version_num / 10000) {
    case 13: return 0xD106;
    case 14: return 0xD10D;
    case 15: return 0xD110;
    case 16: return 0xD113;
    default: return 0xD116;
    }
}

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(data, 1, (size_t)n, f);
    fclose(f);
    return data;
}

static int count_dir_entries(const char *dir, int *partials)
{
    DIR *d = opendir(dir);
    int count = 0;
    *partials = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        if (strstr(e->d_name, ".partial"))
            (*partials)++;
    }
    closedir(d);
    return count;
}

static void test_streamed_segments_match_the_servers_wal(void)
{
    char spool[512], out[256];
    make_spool(spool, sizeof(spool));
    pgb_wal_streamer *s = NULL;
    int rc = pgb_wal_streamer_open(ctx, server.conninfo, spool, &s);
    report(rc);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    uint64_t segment_size = pgb_wal_streamer_segment_size(s);
    CU_ASSERT_EQUAL(segment_size, 16u << 20);

    /* The slot is there, temporary, and already holds WAL. */
    char query[256];
    snprintf(query, sizeof(query),
             "SELECT temporary, restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = '%s'",
             pgb_wal_streamer_slot_name(s));
    psql(query, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "t|t");
    psql("SELECT system_identifier FROM pg_control_system()", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(pgb_wal_streamer_system_identifier(s), out);

    uint64_t first = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    psql("CREATE TABLE wal_filler (id int, pad text)", out, sizeof(out));
    uint64_t second = first;
    for (int round = 0; round < 20 && second - first <= (20u << 20); round++) {
        psql("INSERT INTO wal_filler SELECT g, repeat('x', 200) FROM generate_series(1, 40000) g", out, sizeof(out));
        second = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    }
    CU_ASSERT_FATAL(second - first > (20u << 20));

    psql("SHOW server_version_num", out, sizeof(out));
    int version_num = atoi(out);
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_start(s, first, 1), PGB_OK);
    const char *const *names = NULL;
    size_t count = 0;
    rc = pgb_wal_streamer_finish(s, second, &names, &count);
    report(rc);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);

    uint64_t first_segno = first / segment_size, last_segno = (second - 1) / segment_size;
    CU_ASSERT_EQUAL_FATAL(count, last_segno - first_segno + 1);
    CU_ASSERT(count >= 2);
    int partials;
    CU_ASSERT_EQUAL(count_dir_entries(spool, &partials), (int)count);
    CU_ASSERT_EQUAL(partials, 0);
    if (second % segment_size != 0)
        CU_ASSERT_EQUAL(pgb_wal_streamer_last_segment_padded(s), 1);

    unsigned long long sysid = strtoull(pgb_wal_streamer_system_identifier(s), NULL, 10);
    for (size_t i = 0; i < count; i++) {
        uint64_t segno = first_segno + i;
        char expected[PGB_WAL_NAME_SIZE];
        CU_ASSERT_STRING_EQUAL(names[i], pgb_wal_segment_name(1, segno, segment_size, expected));
        char path[700], server_path[700];
        snprintf(path, sizeof(path), "%s/%s", spool, names[i]);
        snprintf(server_path, sizeof(server_path), "%s/pg_wal/%s", server.datadir, names[i]);
        size_t size = 0, server_size = 0;
        uint8_t *data = read_file(path, &size);
        uint8_t *server_data = read_file(server_path, &server_size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(data);
        CU_ASSERT_EQUAL(size, segment_size);

        /* The long page header of the segment's first page (xlog_internal.h). */
        uint16_t magic, info;
        uint64_t pageaddr, header_sysid;
        uint32_t seg_size, blcksz;
        memcpy(&magic, data, 2);
        memcpy(&info, data + 2, 2);
        memcpy(&pageaddr, data + 8, 8);
        memcpy(&header_sysid, data + 24, 8);
        memcpy(&seg_size, data + 32, 4);
        memcpy(&blcksz, data + 36, 4);
        CU_ASSERT_EQUAL(magic, wal_page_magic(version_num));
        CU_ASSERT(info & 0x0002); /* XLP_LONG_HEADER */
        CU_ASSERT_EQUAL(pageaddr, segno * segment_size);
        CU_ASSERT_EQUAL(header_sysid, sysid);
        CU_ASSERT_EQUAL(seg_size, segment_size);
        CU_ASSERT_EQUAL(blcksz, 8192);

        /* The same bytes as the server's file: all of it, or up to the end for the padded last one. */
        CU_ASSERT_PTR_NOT_NULL_FATAL(server_data);
        size_t compare = size;
        if (i == count - 1 && pgb_wal_streamer_last_segment_padded(s))
            compare = (size_t)(second - segno * segment_size);
        CU_ASSERT(size == server_size && memcmp(data, server_data, compare) == 0);
        free(data);
        free(server_data);
    }
    pgb_wal_streamer_free(s);
    CU_ASSERT_EQUAL(slots_after_wait(0), 0);
}

static void test_server_refusal_is_reported_by_finish(void)
{
    char spool[512];
    make_spool(spool, sizeof(spool));
    pgb_wal_streamer *s = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_open(ctx, server.conninfo, spool, &s), PGB_OK);
    uint64_t now = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    /* Timeline 7 is not in this server's history. */
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_start(s, now, 7), PGB_OK);
    const char *const *names;
    size_t count;
    CU_ASSERT_EQUAL(pgb_wal_streamer_finish(s, now + 1, &names, &count), PGB_ECONNECTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "timeline 7"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errdetail(ctx), "timeline"));
    CU_ASSERT_EQUAL(count, 0);
    pgb_wal_streamer_free(s);
    CU_ASSERT_EQUAL(slots_after_wait(0), 0);
}

static void test_finish_gives_up_without_progress(void)
{
    char spool[512];
    make_spool(spool, sizeof(spool));
    pgb_wal_streamer *s = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_open(ctx, server.conninfo, spool, &s), PGB_OK);
    pgb_wal_streamer_set_timeout(s, 1500);
    uint64_t now = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_start(s, now, 1), PGB_OK);
    const char *const *names;
    size_t count;
    time_t began = time(NULL);
    CU_ASSERT_EQUAL(pgb_wal_streamer_finish(s, now + (1u << 30), &names, &count), PGB_ECONNECTION);
    CU_ASSERT(time(NULL) - began < 20);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "no WAL arrived"));
    pgb_wal_streamer_free(s);
    CU_ASSERT_EQUAL(slots_after_wait(0), 0);
}

static void test_finish_stops_on_cancel(void)
{
    char spool[512];
    make_spool(spool, sizeof(spool));
    pgb_wal_streamer *s = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_open(ctx, server.conninfo, spool, &s), PGB_OK);
    uint64_t now = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_start(s, now, 1), PGB_OK);
    pgb_ctx_cancel(ctx);
    const char *const *names;
    size_t count;
    CU_ASSERT_EQUAL(pgb_wal_streamer_finish(s, now + (1u << 30), &names, &count), PGB_ECANCELED);
    pgb_ctx_reset_cancel(ctx);
    pgb_wal_streamer_free(s);
    CU_ASSERT_EQUAL(slots_after_wait(0), 0);
}

static void test_free_without_start_drops_the_slot(void)
{
    char spool[512];
    make_spool(spool, sizeof(spool));
    pgb_wal_streamer *s = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_wal_streamer_open(ctx, server.conninfo, spool, &s), PGB_OK);
    CU_ASSERT_EQUAL(slot_count(), 1);
    const char *const *names;
    size_t count;
    CU_ASSERT_EQUAL(pgb_wal_streamer_finish(s, 1, &names, &count), PGB_EINVALID); /* not started */
    pgb_wal_streamer_free(s);
    CU_ASSERT_EQUAL(slot_count(), 0); /* dropped before free returned */
}

static void test_open_refuses_a_missing_spool(void)
{
    char spool[512];
    snprintf(spool, sizeof(spool), "%s/no-such-spool", server.dir);
    pgb_wal_streamer *s = (pgb_wal_streamer *)&server;
    CU_ASSERT_EQUAL(pgb_wal_streamer_open(ctx, server.conninfo, spool, &s), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "no-such-spool"));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"streamed_segments_match_the_servers_wal", test_streamed_segments_match_the_servers_wal},
        {"server_refusal_is_reported_by_finish", test_server_refusal_is_reported_by_finish},
        {"finish_gives_up_without_progress", test_finish_gives_up_without_progress},
        {"finish_stops_on_cancel", test_finish_stops_on_cancel},
        {"free_without_start_drops_the_slot", test_free_without_start_drops_the_slot},
        {"open_refuses_a_missing_spool", test_open_refuses_a_missing_spool},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_streamer", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
