/*
 * Splitting pg_dumpall's script into statements: ';' inside quotes, dollar
 * quotes and comments does not end one, psql meta-commands are left out, and
 * a script that ends without ';' still gives its last statement.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "logical/sql_script.h"
#include "test_main.h"

static pgb_ctx *ctx;

static int setup(void)
{
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

static char **split(const char *script, size_t *count)
{
    char **statements = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_sql_split(ctx, script, strlen(script), &statements, count), PGB_OK);
    CU_ASSERT_PTR_NULL(statements[*count]);
    return statements;
}

static void test_pg_dumpall_script_is_split_into_statements(void)
{
    const char *script =
        "--\n-- PostgreSQL database cluster dump\n--\n\n"
        "\\restrict abcDEF123\n\n"
        "SET default_transaction_read_only = off;\n"
        "SET client_encoding = 'UTF8';\n\n"
        "CREATE ROLE \"odd;name\";\n"
        "ALTER ROLE \"odd;name\" WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:a;b$c:d';\n"
        "COMMENT ON ROLE reader IS 'it''s; a reader';\n"
        "\\unrestrict abcDEF123\n"
        "-- done\n";
    size_t count = 0;
    char **s = split(script, &count);
    CU_ASSERT_EQUAL_FATAL(count, 5);
    CU_ASSERT_STRING_EQUAL(s[0], "SET default_transaction_read_only = off");
    CU_ASSERT_STRING_EQUAL(s[2], "CREATE ROLE \"odd;name\"");
    CU_ASSERT_STRING_EQUAL(s[3], "ALTER ROLE \"odd;name\" WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:a;b$c:d'");
    CU_ASSERT_STRING_EQUAL(s[4], "COMMENT ON ROLE reader IS 'it''s; a reader'");
    pgb_sql_statements_free(s);
}

static void test_dollar_quotes_escapes_and_comments_hide_semicolons(void)
{
    const char *script = "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $$ not the end $$; $body$ LANGUAGE sql;"
                         "SELECT E'a\\';b' /* c; /* nested; */ d; */ ;"
                         "SELECT $1; -- a; comment\n"
                         "SELECT 'tail without semicolon'";
    size_t count = 0;
    char **s = split(script, &count);
    CU_ASSERT_EQUAL_FATAL(count, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(s[0], "LANGUAGE sql"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s[1], "d; */"));
    CU_ASSERT_STRING_EQUAL(s[2], "SELECT $1");
    CU_ASSERT_STRING_EQUAL(s[3], "-- a; comment\nSELECT 'tail without semicolon'");
    pgb_sql_statements_free(s);
}

static void test_nothing_but_comments_gives_no_statement(void)
{
    size_t count = 1;
    char **s = split("-- only a comment;\n/* and ; this */\n\\connect x\n;;", &count);
    CU_ASSERT_EQUAL(count, 0);
    pgb_sql_statements_free(s);
    /* Unterminated quotes end with the script instead of running past it. */
    s = split("SELECT 'open; ", &count);
    CU_ASSERT_EQUAL(count, 1);
    pgb_sql_statements_free(s);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"test_pg_dumpall_script_is_split_into_statements", test_pg_dumpall_script_is_split_into_statements},
        {"test_dollar_quotes_escapes_and_comments_hide_semicolons",
         test_dollar_quotes_escapes_and_comments_hide_semicolons},
        {"test_nothing_but_comments_gives_no_statement", test_nothing_but_comments_gives_no_statement},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"sql_script", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
