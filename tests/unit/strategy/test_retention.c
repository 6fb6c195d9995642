/*
 * Retention decisions on a simulated clock: a month of daily backups of each
 * kind (physical fulls with incrementals between them, logical, globals), and
 * for each policy exactly the set of backups it must keep.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "strategy/retention.h"
#include "test_main.h"

#define DAY INT64_C(86400)
/* 2026-11-01T00:00:00Z */
#define EPOCH INT64_C(1793491200)

static json_t *records;

/* Day d (1-based) of November 2026 at hour h, as a catalog time. */
static void at(int d, int h, char out[32])
{
    snprintf(out, 32, "2026-11-%02dT%02d:00:00+00:00", d, h);
}

static void add(const char *type, int day, int hour, int incremental)
{
    char when[32], id[64];
    at(day, hour, when);
    snprintf(id, sizeof(id), "202611%02dT%02d0000.000Z-%s", day, hour,
             incremental ? "incr" : strcmp(type, "physical") == 0 ? "full" : type);
    json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:b}", "id", id, "type", type, "stop_time", when,
                                             "incremental", incremental));
}

static int setup(void)
{
    records = json_array();
    /* Days 1 to 28: a physical full at 00:00 every 7th day, incrementals at 00:00 the other days. */
    for (int day = 1; day <= 28; day++) {
        add("physical", day, 0, day % 7 != 1);
        add("logical", day, 6, 0);
        if (day % 7 == 1)
            add("globals", day, 7, 0);
    }
    return 0;
}

static int teardown(void)
{
    json_decref(records);
    return 0;
}

/* The ids kept, of one type, comma-separated. */
static const char *kept(json_t *decisions, const char *type)
{
    static char out[2048];
    out[0] = '\0';
    size_t i;
    json_t *d;
    json_array_foreach(decisions, i, d) {
        if (strcmp(json_string_value(json_object_get(d, "type")), type) == 0 && json_is_true(json_object_get(d, "keep"))) {
            if (out[0])
                strcat(out, ",");
            strncat(out, json_string_value(json_object_get(d, "id")), 40);
        }
    }
    return out;
}

static json_t *decide(int64_t keep_full, int64_t keep_age, int64_t window, int64_t now)
{
    struct pgb_retention rules = {keep_full, keep_age, window};
    json_t *d = pgb_retention_decide(records, &rules, now);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(json_array_size(d), json_array_size(records));
    return d;
}

/* Noon of day 28. */
static const int64_t now = EPOCH + 27 * DAY + 12 * 3600;

static void test_without_rules_everything_is_kept(void)
{
    json_t *d = decide(-1, -1, -1, now);
    size_t i;
    json_t *x;
    json_array_foreach(d, i, x) CU_ASSERT_TRUE(json_is_true(json_object_get(x, "keep")));
    json_decref(d);
}

static void test_keep_full_keeps_the_newest_fulls_and_their_incrementals(void)
{
    json_t *d = decide(2, -1, -1, now);
    /* Fulls on days 1, 8, 15, 22: keep 15 and 22, and the incrementals after day 15. */
    CU_ASSERT_STRING_EQUAL(kept(d, "physical"),
                           "20261115T000000.000Z-full,20261116T000000.000Z-incr,20261117T000000.000Z-incr,"
                           "20261118T000000.000Z-incr,20261119T000000.000Z-incr,20261120T000000.000Z-incr,"
                           "20261121T000000.000Z-incr,20261122T000000.000Z-full,20261123T000000.000Z-incr,"
                           "20261124T000000.000Z-incr,20261125T000000.000Z-incr,20261126T000000.000Z-incr,"
                           "20261127T000000.000Z-incr,20261128T000000.000Z-incr");
    CU_ASSERT_STRING_EQUAL(kept(d, "logical"), "20261127T060000.000Z-logical,20261128T060000.000Z-logical");
    CU_ASSERT_STRING_EQUAL(kept(d, "globals"), "20261115T070000.000Z-globals,20261122T070000.000Z-globals");
    json_t *first = json_array_get(d, 0);
    CU_ASSERT_FALSE(json_is_true(json_object_get(first, "keep")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(first, "reasons"), 0)),
                           "beyond the retention of the policy");
    json_decref(d);
}

static void test_keep_age_keeps_what_is_younger(void)
{
    json_t *d = decide(-1, 2 * DAY, -1, now);
    /* Younger than two days at noon of day 28: days 27 and 28 (26 00:00 is 2.5 days old). */
    CU_ASSERT_STRING_EQUAL(kept(d, "physical"),
                           "20261122T000000.000Z-full,20261127T000000.000Z-incr,20261128T000000.000Z-incr");
    /* Day 26 at 06:00 is 2.25 days old. */
    CU_ASSERT_STRING_EQUAL(kept(d, "logical"), "20261127T060000.000Z-logical,20261128T060000.000Z-logical");
    /* The newest full of each kind stays whatever its age. */
    CU_ASSERT_STRING_EQUAL(kept(d, "globals"), "20261122T070000.000Z-globals");
    json_decref(d);
}

static void test_pitr_window_keeps_the_base_before_the_window_and_everything_after(void)
{
    /* Ten days back from noon of day 28: 18 at noon. The newest backup ended at or before it is day 18's. */
    json_t *d = decide(-1, -1, 10 * DAY, now);
    const char *physical = kept(d, "physical");
    CU_ASSERT_PTR_NOT_NULL(strstr(physical, "20261118T000000.000Z-incr,20261119"));
    CU_ASSERT_PTR_NULL(strstr(physical, "20261117T"));
    CU_ASSERT_PTR_NOT_NULL(strstr(physical, "20261128T000000.000Z-incr"));
    /* The window is about physical recovery: logical backups keep only the newest. */
    CU_ASSERT_STRING_EQUAL(kept(d, "logical"), "20261128T060000.000Z-logical");
    json_decref(d);
    /* A window older than every backup keeps them all. */
    d = decide(-1, -1, 60 * DAY, now);
    CU_ASSERT_PTR_NOT_NULL(strstr(kept(d, "physical"), "20261101T000000.000Z-full"));
    json_decref(d);
}

static void test_rules_combine_as_a_union(void)
{
    json_t *d = decide(1, -1, 3 * DAY, now);
    /* keep-full 1: day 22 and its incrementals; the window's base is day 25. The union is day 22 onwards. */
    CU_ASSERT_PTR_NOT_NULL(strstr(kept(d, "physical"), "20261122T000000.000Z-full"));
    CU_ASSERT_PTR_NULL(strstr(kept(d, "physical"), "20261121T"));
    json_decref(d);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"without_rules_everything_is_kept", test_without_rules_everything_is_kept},
        {"keep_full_keeps_the_newest_fulls_and_their_incrementals",
         test_keep_full_keeps_the_newest_fulls_and_their_incrementals},
        {"keep_age_keeps_what_is_younger", test_keep_age_keeps_what_is_younger},
        {"pitr_window_keeps_the_base_before_the_window_and_everything_after",
         test_pitr_window_keeps_the_base_before_the_window_and_everything_after},
        {"rules_combine_as_a_union", test_rules_combine_as_a_union},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"retention", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
