/*
 * Point-in-time plans against a real repository holding synthetic backup
 * records and WAL pushed with pgb_wal_push: which backup a target picks,
 * which timeline path is followed, and that a missing or partial segment in
 * the range fails the plan, naming it. Also the parsers behind the plan:
 * times, timeline histories and recovery target options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "../wal/wal_segments.h"
#include "core/clock.h"
#include "repo/catalog.h"
#include "repo/repo.h"
#include "restore/pitr_plan.h"
#include "restore/recovery_target.h"
#include "test_main.h"
#include "wal/timeline_history.h"

#define SEG WAL_TEST_SEGMENT_SIZE

static pgb_ctx *ctx;
static char root[64];

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-pitr-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    char home[128];
    snprintf(home, sizeof(home), "%s/home", root);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    unsetenv("XDG_CONFIG_HOME");
    return 0;
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    char command[160];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    return system(command) != 0;
}

struct archive {
    char dir[128];
    pgb_storage *storage;
    pgb_repo *repo;
};

static void open_archive(struct archive *a, const char *name)
{
    snprintf(a->dir, sizeof(a->dir), "%s/%s", root, name);
    mkdir(a->dir, 0700);
    char path[192];
    snprintf(path, sizeof(path), "%s/repo", a->dir);
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&a->storage, ctx, path, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&a->repo, a->storage, NULL), PGB_OK);
}

static void close_archive(struct archive *a)
{
    pgb_repo_close(a->repo);
    pgb_storage_free(a->storage);
}

/* A physical backup's catalog record, as a backup job commits it. */
static void add_backup(struct archive *a, const char *id, uint32_t timeline, const char *start, const char *stop,
                       const char *stop_time)
{
    json_t *record = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:{s:s, s:s, s:i}}", "type", "physical",
                               "start_lsn", start, "stop_lsn", stop, "start_time", stop_time, "stop_time", stop_time,
                               "start_timeline", (int)timeline, "stop_timeline", (int)timeline, "wal_segment_size",
                               (json_int_t)SEG, "wal", "first", "", "last", "", "count", 1);
    CU_ASSERT_EQUAL_FATAL(pgb_catalog_commit(a->repo, id, record), PGB_OK);
    json_decref(record);
}

/* Archive segments first..last of timeline (as .partial when partial). */
static void push_segments(struct archive *a, uint32_t timeline, uint64_t first, uint64_t last, int partial)
{
    for (uint64_t segno = first; segno <= last; segno++) {
        char name[PGB_WAL_NAME_SIZE], path[256];
        uint8_t *data = wal_test_segment(timeline, segno, (unsigned)segno, name);
        snprintf(path, sizeof(path), "%s/%s%s", a->dir, name, partial ? ".partial" : "");
        wal_test_write(path, data, SEG);
        CU_ASSERT_EQUAL(pgb_wal_push(a->repo, path), PGB_OK);
        free(data);
    }
}

static void push_history(struct archive *a, uint32_t timeline, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%08X.history", a->dir, timeline);
    wal_test_write(path, text, strlen(text));
    CU_ASSERT_EQUAL(pgb_wal_push(a->repo, path), PGB_OK);
}

/* Plan with options given as pairs; returns the status and fills plan. */
static int plan_for(struct archive *a, const char *wanted, const char *const *pairs, struct pgb_pitr_plan *plan)
{
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    struct pgb_recovery_target target;
    CU_ASSERT_EQUAL_FATAL(pgb_recovery_target_read(ctx, o, &target), PGB_OK);
    json_t *records = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_catalog_read_all(a->repo, &records), PGB_OK);
    int rc = pgb_pitr_plan_make(a->repo, records, wanted, &target, plan);
    json_decref(records);
    pgb_options_free(o);
    return rc;
}

static const char *chosen(const struct pgb_pitr_plan *plan)
{
    return json_string_value(json_object_get(plan->record, "id"));
}

/*
 * Timeline 1: backup A ends in segment 2, backup B in segment 5; segments 2..8
 * archived. Timeline 2 branched at 0/600010 (in segment 6): its segments 6..9.
 */
static void build_history(struct archive *a)
{
    add_backup(a, "20261101T000000.000Z-full", 1, "0/200028", "0/200100", "2026-11-01T00:00:00+00:00");
    add_backup(a, "20261102T000000.000Z-full", 1, "0/500028", "0/500100", "2026-11-02T00:00:00+00:00");
    push_segments(a, 1, 2, 8, 0);
    push_history(a, 2, "1\t0/600010\tafter a restore\n");
    push_segments(a, 2, 6, 9, 0);
}

static void test_latest_follows_the_newest_timeline_from_the_newest_backup(void)
{
    struct archive a;
    open_archive(&a, "latest");
    build_history(&a);
    struct pgb_pitr_plan plan;
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, NULL, &plan), PGB_OK);
    CU_ASSERT_STRING_EQUAL(chosen(&plan), "20261102T000000.000Z-full");
    CU_ASSERT_EQUAL(plan.timeline, 2);
    CU_ASSERT_EQUAL(plan.path.count, 2);
    CU_ASSERT(plan.from_archive);
    /* Timeline 1 up to segment 5 (before the switch segment), then timeline 2 from 6 to its end, 9. */
    CU_ASSERT_EQUAL(plan.archive_segments, 5);
    CU_ASSERT_STRING_EQUAL(plan.first, "000000010000000000000005");
    CU_ASSERT_STRING_EQUAL(plan.last, "000000020000000000000009");
    pgb_pitr_plan_clear(&plan);

    const char *current[] = {"target-timeline", "current", NULL};
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, current, &plan), PGB_OK);
    CU_ASSERT_EQUAL(plan.timeline, 1);
    CU_ASSERT_STRING_EQUAL(plan.last, "000000010000000000000008");
    pgb_pitr_plan_clear(&plan);
    close_archive(&a);
}

static void test_lsn_and_time_targets_pick_the_newest_backup_before_them(void)
{
    struct archive a;
    open_archive(&a, "targets");
    build_history(&a);
    struct pgb_pitr_plan plan;
    const char *early_lsn[] = {"target-lsn", "0/300000", NULL};
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, early_lsn, &plan), PGB_OK);
    CU_ASSERT_STRING_EQUAL(chosen(&plan), "20261101T000000.000Z-full");
    CU_ASSERT_EQUAL(plan.archive_segments, 2); /* 2 and 3 */
    CU_ASSERT_STRING_EQUAL(plan.last, "000000010000000000000003");
    pgb_pitr_plan_clear(&plan);

    /* Past the switch on the latest timeline: the segments come from timeline 2. */
    const char *late_lsn[] = {"target-lsn", "0/700000", NULL};
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, late_lsn, &plan), PGB_OK);
    CU_ASSERT_STRING_EQUAL(chosen(&plan), "20261102T000000.000Z-full");
    CU_ASSERT_STRING_EQUAL(plan.last, "000000020000000000000007");
    pgb_pitr_plan_clear(&plan);

    const char *time[] = {"target-time", "2026-11-01T12:00:00+00:00", NULL};
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, time, &plan), PGB_OK);
    CU_ASSERT_STRING_EQUAL(chosen(&plan), "20261101T000000.000Z-full");
    pgb_pitr_plan_clear(&plan);

    const char *too_early[] = {"target-time", "2026-10-01T00:00:00+02:00", NULL};
    CU_ASSERT_EQUAL(plan_for(&a, NULL, too_early, &plan), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "no physical backup"));

    /* A named backup that ends after the target cannot reach it. */
    CU_ASSERT_EQUAL(plan_for(&a, "20261102T000000.000Z-full", early_lsn, &plan), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "after the target LSN"));

    /* Immediate needs nothing from the archive. */
    const char *immediate[] = {"target", "immediate", NULL};
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, immediate, &plan), PGB_OK);
    CU_ASSERT_EQUAL(plan.archive_segments, 0);
    CU_ASSERT(plan.from_archive);
    pgb_pitr_plan_clear(&plan);
    close_archive(&a);
}

static void test_a_missing_or_partial_segment_in_the_range_fails_naming_it(void)
{
    struct archive a;
    open_archive(&a, "gaps");
    add_backup(&a, "20261101T000000.000Z-full", 1, "0/200028", "0/200100", "2026-11-01T00:00:00+00:00");
    push_segments(&a, 1, 2, 3, 0);
    push_segments(&a, 1, 5, 6, 0);
    struct pgb_pitr_plan plan;
    CU_ASSERT_EQUAL(plan_for(&a, NULL, NULL, &plan), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "WAL segment 000000010000000000000004 is missing"));
    /* Up to an LSN before the gap, the plan holds. */
    const char *before_gap[] = {"target-lsn", "0/3FFFFF", NULL};
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, before_gap, &plan), PGB_OK);
    CU_ASSERT_EQUAL(plan.archive_segments, 2);
    pgb_pitr_plan_clear(&plan);

    /* A partial segment stands in only as the very last one. */
    push_segments(&a, 1, 4, 4, 1);
    CU_ASSERT_EQUAL(plan_for(&a, NULL, NULL, &plan), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "000000010000000000000004 is only partial"));
    push_segments(&a, 1, 7, 7, 1);
    const char *to_seven[] = {"target-lsn", "0/700100", NULL};
    CU_ASSERT_EQUAL(plan_for(&a, NULL, to_seven, &plan), PGB_ENOTFOUND);
    close_archive(&a);

    /* Without any WAL after the backup, latest is the backup alone. */
    open_archive(&a, "alone");
    add_backup(&a, "20261101T000000.000Z-full", 1, "0/200028", "0/200100", "2026-11-01T00:00:00+00:00");
    CU_ASSERT_EQUAL_FATAL(plan_for(&a, NULL, NULL, &plan), PGB_OK);
    CU_ASSERT_FALSE(plan.from_archive);
    pgb_pitr_plan_clear(&plan);
    /* A timeline without its history file cannot be followed. */
    const char *timeline3[] = {"target-timeline", "3", NULL};
    CU_ASSERT_EQUAL(plan_for(&a, NULL, timeline3, &plan), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "00000003.history"));
    close_archive(&a);
}

static void test_times_need_an_offset(void)
{
    int64_t t = 0;
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("1970-01-01T00:00:00Z", &t), 0);
    CU_ASSERT_EQUAL(t, 0);
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("2026-11-24T10:15:00+00:00", &t), 0);
    CU_ASSERT_EQUAL(t, INT64_C(1795515300) * 1000000);
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("2026-11-24 12:15:00.25+02", &t), 0);
    CU_ASSERT_EQUAL(t, INT64_C(1795515300) * 1000000 + 250000);
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("2024-02-29T00:00:00-0130", &t), 0);
    CU_ASSERT_EQUAL(t, (INT64_C(1709164800) + 5400) * 1000000);
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("2026-11-24T10:15:00", &t), -1);
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("2025-02-29T10:15:00Z", &t), -1);
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("2026-11-24T24:00:00Z", &t), -1);
    CU_ASSERT_EQUAL(pgb_time_parse_iso8601("yesterday", &t), -1);
}

static void test_timeline_histories_parse_and_damage_is_named(void)
{
    struct pgb_timeline_path path;
    const char *text = "1\t0/3000158\tno recovery target specified\n\n# comment\n2\t0/5000000\tbefore 2026\n";
    CU_ASSERT_EQUAL_FATAL(pgb_timeline_path_parse(ctx, "00000003.history", text, 3, &path), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(path.count, 3);
    CU_ASSERT_EQUAL(path.steps[0].timeline, 1);
    CU_ASSERT_EQUAL(path.steps[0].begin, 0);
    CU_ASSERT_EQUAL(path.steps[0].end, UINT64_C(0x3000158));
    CU_ASSERT_EQUAL(path.steps[1].begin, UINT64_C(0x3000158));
    CU_ASSERT_EQUAL(path.steps[2].timeline, 3);
    CU_ASSERT_EQUAL(path.steps[2].end, PGB_TIMELINE_OPEN);
    CU_ASSERT_EQUAL(pgb_timeline_path_at(&path, UINT64_C(0x4000000))->timeline, 2);
    CU_ASSERT_EQUAL(pgb_timeline_path_at(&path, UINT64_C(0x9000000))->timeline, 3);
    pgb_timeline_path_clear(&path);
    CU_ASSERT_EQUAL(pgb_timeline_path_parse(ctx, "h", "1\tnot-an-lsn\tx\n", 2, &path), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "line 1"));
    CU_ASSERT_EQUAL(pgb_timeline_path_parse(ctx, "h", "1\t0/5000000\tx\n2\t0/4000000\ty\n", 3, &path), PGB_ECORRUPT);
    CU_ASSERT_EQUAL(pgb_timeline_path_parse(ctx, "h", "4\t0/5000000\tx\n", 3, &path), PGB_ECORRUPT);
    CU_ASSERT_EQUAL(pgb_timeline_path_parse(ctx, "h", "# only a comment\n", 2, &path), PGB_ECORRUPT);
}

static int target_error(const char *const *pairs)
{
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    for (size_t i = 0; pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    struct pgb_recovery_target t;
    int rc = pgb_recovery_target_read(ctx, o, &t);
    pgb_options_free(o);
    return rc;
}

static void test_recovery_target_options_are_checked(void)
{
    const char *two[] = {"target-lsn", "0/1", "target-xid", "1000", NULL};
    CU_ASSERT_EQUAL(target_error(two), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "target-lsn and target-xid both set"));
    const char *bad_lsn[] = {"target-lsn", "16-B3", NULL};
    CU_ASSERT_EQUAL(target_error(bad_lsn), PGB_EINVALID);
    const char *bad_xid[] = {"target-xid", "-5", NULL};
    CU_ASSERT_EQUAL(target_error(bad_xid), PGB_EINVALID);
    const char *long_name[] = {"target-name", "a-restore-point-name-longer-than-sixty-three-bytes-is-refused-by-pg",
                               NULL};
    CU_ASSERT_EQUAL(target_error(long_name), PGB_EINVALID);
    const char *bad_timeline[] = {"target-timeline", "newest", NULL};
    CU_ASSERT_EQUAL(target_error(bad_timeline), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "target-timeline 'newest'"));
    const char *good[] = {"target-xid", "1234", "target-timeline", "2", "target-inclusive", "false", NULL};
    CU_ASSERT_EQUAL(target_error(good), PGB_OK);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"latest_follows_the_newest_timeline_from_the_newest_backup",
         test_latest_follows_the_newest_timeline_from_the_newest_backup},
        {"lsn_and_time_targets_pick_the_newest_backup_before_them",
         test_lsn_and_time_targets_pick_the_newest_backup_before_them},
        {"a_missing_or_partial_segment_in_the_range_fails_naming_it",
         test_a_missing_or_partial_segment_in_the_range_fails_naming_it},
        {"times_need_an_offset", test_times_need_an_offset},
        {"timeline_histories_parse_and_damage_is_named", test_timeline_histories_parse_and_damage_is_named},
        {"recovery_target_options_are_checked", test_recovery_target_options_are_checked},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"pitr_plan", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
