/*
 * pgb_pg_probe against real PostgreSQL 15 servers: every fact it reports is
 * compared with what the server itself says through psql.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include <pgbackup/pgbackup.h>

#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;
static pgb_ctx *ctx;

static int setup(void)
{
    static const char *const settings[] = {"wal_level = logical", "archive_mode = on",
                                           "archive_command = '/bin/true'", NULL};
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
    CU_ASSERT_EQUAL_FATAL(pg_fixture_psql(&server, sql, out, size), 0);
}

static void test_probe_reports_the_servers_own_facts(void)
{
    pgb_server_info *info = NULL;
    int rc = pgb_pg_probe(&info, ctx, server.conninfo);
    if (rc != PGB_OK)
        fprintf(stderr, "probe: %s (%s)\n", pgb_ctx_errmsg(ctx), pgb_ctx_errdetail(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);

    char expected[256];
    psql("SHOW server_version_num", expected, sizeof(expected));
    CU_ASSERT_EQUAL(pgb_server_info_version_num(info), atoi(expected));
    CU_ASSERT(pgb_server_info_version_num(info) >= 150000 && pgb_server_info_version_num(info) < 160000);
    psql("SHOW server_version", expected, sizeof(expected));
    CU_ASSERT_STRING_EQUAL(pgb_server_info_version(info), expected);
    psql("SELECT system_identifier FROM pg_control_system()", expected, sizeof(expected));
    CU_ASSERT_PTR_NOT_NULL_FATAL(pgb_server_info_system_identifier(info));
    CU_ASSERT_STRING_EQUAL(pgb_server_info_system_identifier(info), expected);
    CU_ASSERT_EQUAL(pgb_server_info_data_checksums(info), 1); /* the fixture runs initdb -k */
    CU_ASSERT_STRING_EQUAL(pgb_server_info_wal_level(info), "logical");
    CU_ASSERT_STRING_EQUAL(pgb_server_info_archive_mode(info), "on");
    CU_ASSERT_EQUAL(pgb_server_info_role_can_replicate(info), 1);
    CU_ASSERT_EQUAL(pgb_server_info_replication_ok(info), 1);
    CU_ASSERT_EQUAL(pgb_server_info_in_recovery(info), 0);

    json_error_t error;
    json_t *doc = json_loads(pgb_server_info_to_json(info), 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "format_version")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "system_identifier")), expected);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "wal_segment_size")), 16 * 1024 * 1024);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "timeline")), 1);
    char port[16];
    snprintf(port, sizeof(port), "%d", server.port);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "port")), port);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "problems")), 0);
    json_decref(doc);
    pgb_server_info_free(info);
}

static void test_probe_of_unprivileged_role_reports_what_it_cannot_do(void)
{
    char out[256];
    psql("CREATE ROLE probe_reader LOGIN", out, sizeof(out));
    char conninfo[600];
    snprintf(conninfo, sizeof(conninfo), "%s user=probe_reader", server.conninfo);
    pgb_server_info *info = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_pg_probe(&info, ctx, conninfo), PGB_OK);
    CU_ASSERT_EQUAL(pgb_server_info_role_can_replicate(info), 0);
    CU_ASSERT_EQUAL(pgb_server_info_replication_ok(info), 0);
    json_t *doc = json_loads(pgb_server_info_to_json(info), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "user")), "probe_reader");
    const char *why = json_string_value(json_object_get(doc, "replication_connection_error"));
    CU_ASSERT_PTR_NOT_NULL(why);
    CU_ASSERT_PTR_NOT_NULL(why ? strstr(why, "replication") : NULL);
    json_t *problems = json_object_get(doc, "problems");
    int names_role = 0;
    for (size_t i = 0; i < json_array_size(problems); i++)
        names_role |= strstr(json_string_value(json_array_get(problems, i)), "REPLICATION") != NULL;
    CU_ASSERT(names_role);
    json_decref(doc);
    pgb_server_info_free(info);
}

/* Probe until archiver's key reaches at least minimum, for up to 30 s; returns the last report. */
static json_t *probe_until(const char *key, json_int_t minimum)
{
    json_t *doc = NULL;
    for (int attempt = 0; attempt < 300; attempt++) {
        json_decref(doc);
        pgb_server_info *info = NULL;
        if (pgb_pg_probe(&info, ctx, server.conninfo) != PGB_OK)
            return NULL;
        doc = json_loads(pgb_server_info_to_json(info), 0, NULL);
        pgb_server_info_free(info);
        if (json_integer_value(json_object_get(json_object_get(doc, "archiver"), key)) >= minimum)
            break;
        usleep(100000);
    }
    return doc;
}

static void test_probe_reports_archiving_health(void)
{
    char out[256];
    psql("CREATE TABLE archived_probe AS SELECT g FROM generate_series(1, 1000) g", out, sizeof(out));
    psql("SELECT pg_switch_wal()", out, sizeof(out));
    json_t *doc = probe_until("archived_count", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *archiver = json_object_get(doc, "archiver");
    CU_ASSERT(json_integer_value(json_object_get(archiver, "archived_count")) >= 1);
    const char *last = json_string_value(json_object_get(archiver, "last_archived_wal"));
    CU_ASSERT(last && strlen(last) == 24);
    CU_ASSERT(json_is_false(json_object_get(archiver, "failing")));
    CU_ASSERT(json_integer_value(json_object_get(archiver, "ready_count")) >= 0); /* superuser may list it */
    json_decref(doc);

    /* An archive_command that fails: the report says so, naming the segment. */
    psql("ALTER SYSTEM SET archive_command = '/bin/false'", out, sizeof(out));
    psql("SELECT pg_reload_conf()", out, sizeof(out));
    psql("INSERT INTO archived_probe SELECT g FROM generate_series(1, 1000) g", out, sizeof(out));
    psql("SELECT pg_switch_wal()", out, sizeof(out));
    doc = probe_until("failed_count", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    archiver = json_object_get(doc, "archiver");
    CU_ASSERT(json_integer_value(json_object_get(archiver, "failed_count")) >= 1);
    CU_ASSERT(json_is_true(json_object_get(archiver, "failing")));
    json_t *problems = json_object_get(doc, "problems");
    int named = 0;
    for (size_t i = 0; i < json_array_size(problems); i++)
        named |= strstr(json_string_value(json_array_get(problems, i)), "WAL archiving is failing") != NULL;
    CU_ASSERT(named);
    json_decref(doc);
    psql("ALTER SYSTEM SET archive_command = '/bin/true'", out, sizeof(out));
    psql("SELECT pg_reload_conf()", out, sizeof(out));
}

static void test_probe_of_closed_port_names_host_and_port(void)
{
    pgb_server_info *info = (pgb_server_info *)&server; /* must be reset to NULL */
    char conninfo[128];
    /* The fixture's port is taken by the server; port 1 has no PostgreSQL. */
    snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=1 user=postgres connect_timeout=5");
    CU_ASSERT_EQUAL(pgb_pg_probe(&info, ctx, conninfo), PGB_ECONNECTION);
    CU_ASSERT_PTR_NULL(info);
    CU_ASSERT_EQUAL(pgb_ctx_errcode(ctx), PGB_ECONNECTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "host=127.0.0.1 port=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errdetail(ctx), "Connection refused"));
}

static void test_probe_with_bad_conninfo_fails_cleanly(void)
{
    pgb_server_info *info = NULL;
    CU_ASSERT_EQUAL(pgb_pg_probe(&info, ctx, "host=127.0.0.1 nonsense_keyword=1"), PGB_ECONNECTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errdetail(ctx), "nonsense_keyword"));
    CU_ASSERT_EQUAL(pgb_pg_probe(NULL, ctx, server.conninfo), PGB_EINVALID);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"probe_reports_the_servers_own_facts", test_probe_reports_the_servers_own_facts},
        {"probe_of_unprivileged_role_reports_what_it_cannot_do",
         test_probe_of_unprivileged_role_reports_what_it_cannot_do},
        {"probe_reports_archiving_health", test_probe_reports_archiving_health},
        {"probe_of_closed_port_names_host_and_port", test_probe_of_closed_port_names_host_and_port},
        {"probe_with_bad_conninfo_fails_cleanly", test_probe_with_bad_conninfo_fails_cleanly},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"probe", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
