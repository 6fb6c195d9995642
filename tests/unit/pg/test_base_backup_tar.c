/*
 * The tar reader of base backups: archives written by libarchive in the
 * server's format (ustar), fed in blocks of every size, must come out as the
 * same entries and bytes, with PostgreSQL's path quirks normalised and hostile
 * or damaged archives refused.
 */
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/error.h"
#include "pg/tar_stream.h"
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

/* ---- building archives ---- */

struct tar_item {
    const char *name;
    int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO */
    size_t size;
    const char *link;
    unsigned mode;
};

static uint8_t pattern_byte(const char *name, size_t i)
{
    return (uint8_t)(i * 31 + strlen(name) * 7 + 1) | 1; /* never zero */
}

/* An ustar archive of items, ending with the two zero blocks; *size gets its length. */
static uint8_t *build_tar(const struct tar_item *items, size_t *size)
{
    size_t capacity = 4 << 20;
    uint8_t *buffer = malloc(capacity);
    struct archive *a = archive_write_new();
    archive_write_set_format_ustar(a);
    archive_write_add_filter_none(a);
    size_t used = 0;
    CU_ASSERT_FATAL(archive_write_open_memory(a, buffer, capacity, &used) == ARCHIVE_OK);
    for (const struct tar_item *item = items; item->name; item++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, item->name);
        archive_entry_set_filetype(e, (unsigned)item->type);
        archive_entry_set_perm(e, item->mode ? item->mode : 0600);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (item->type == AE_IFREG)
            archive_entry_set_size(e, (la_int64_t)item->size);
        if (item->type == AE_IFLNK)
            archive_entry_set_symlink(e, item->link);
        if (item->link && item->type == AE_IFREG)
            archive_entry_set_hardlink(e, item->link);
        CU_ASSERT_FATAL(archive_write_header(a, e) == ARCHIVE_OK);
        if (item->type == AE_IFREG && item->size) {
            uint8_t *data = malloc(item->size);
            for (size_t i = 0; i < item->size; i++)
                data[i] = pattern_byte(item->name, i);
            CU_ASSERT_FATAL(archive_write_data(a, data, item->size) == (la_ssize_t)item->size);
            free(data);
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    *size = used;
    return buffer;
}

/* ---- feeding them ---- */

struct memory_source {
    const uint8_t *data;
    size_t size, pos, chunk;
    int fail_at_call; /* >0: that call fails with PGB_ECONNECTION */
    int calls;
};

static int memory_read(void *payload, const uint8_t **data, size_t *size)
{
    struct memory_source *m = payload;
    if (++m->calls == m->fail_at_call)
        return pgb_error_set(ctx, PGB_ECONNECTION, "the test source broke");
    size_t n = m->size - m->pos < m->chunk ? m->size - m->pos : m->chunk;
    *data = m->data + m->pos;
    *size = n;
    m->pos += n;
    return PGB_OK;
}

/* ---- collecting entries ---- */

#define MAX_ENTRIES 32

struct collected {
    char path[MAX_ENTRIES][256];
    int type[MAX_ENTRIES];
    uint32_t mode[MAX_ENTRIES];
    uint64_t size[MAX_ENTRIES];
    uint64_t received[MAX_ENTRIES];
    int content_ok[MAX_ENTRIES];
    char link[MAX_ENTRIES][256];
    uint32_t oid[MAX_ENTRIES];
    int count;
    int open;
    int stop_in_data_with;       /* non-zero: entry_data returns it */
    int stop_records_own_error;  /* the stopping callback records its own error first */
};

static int on_begin(void *payload, const struct pgb_backup_entry *entry)
{
    struct collected *c = payload;
    CU_ASSERT_FATAL(c->count < MAX_ENTRIES);
    CU_ASSERT(!c->open);
    int i = c->count++;
    snprintf(c->path[i], sizeof(c->path[i]), "%s", entry->path);
    c->type[i] = entry->type;
    c->mode[i] = entry->mode;
    c->size[i] = entry->size;
    c->received[i] = 0;
    c->content_ok[i] = 1;
    c->oid[i] = entry->tablespace_oid;
    snprintf(c->link[i], sizeof(c->link[i]), "%s", entry->link_target ? entry->link_target : "");
    c->open = 1;
    return 0;
}

/* Compare with the pattern of the name as written: the test names files so that both agree. */
static const char *written_name(const struct collected *c, int i);

static int on_data(void *payload, const uint8_t *data, size_t size)
{
    struct collected *c = payload;
    int i = c->count - 1;
    if (c->stop_in_data_with) {
        if (c->stop_records_own_error)
            pgb_error_set(ctx, PGB_EIO, "disk full in the test");
        return c->stop_in_data_with;
    }
    const char *name = written_name(c, i);
    for (size_t k = 0; k < size; k++)
        if (data[k] != pattern_byte(name, c->received[i] + k))
            c->content_ok[i] = 0;
    c->received[i] += size;
    return 0;
}

static int on_end(void *payload)
{
    struct collected *c = payload;
    CU_ASSERT(c->open);
    c->open = 0;
    return 0;
}

/* The items of the main test, and the paths they must come out as. */
static const struct tar_item base_items[] = {
    {"backup_label", AE_IFREG, 227, NULL, 0600},
    {"./pg_wal/archive_status", AE_IFDIR, 0, NULL, 0700},
    {"base/", AE_IFDIR, 0, NULL, 0700},
    {"base/1/1259", AE_IFREG, 300001, NULL, 0600},
    {"base/1/PG_VERSION", AE_IFREG, 0, NULL, 0640},
    {"pg_tblspc/16385/", AE_IFLNK, 0, "/srv/tablespaces/ts1", 0777},
    {"global//pg_control", AE_IFREG, 8192, NULL, 0600},
    {NULL, 0, 0, NULL, 0},
};
static const char *const base_paths[] = {"backup_label", "pg_wal/archive_status", "base", "base/1/1259",
                                         "base/1/PG_VERSION", "pg_tblspc/16385", "global/pg_control"};

static const struct tar_item *current_items = base_items;

static const char *written_name(const struct collected *c, int i)
{
    (void)c;
    return current_items[i].name;
}

static int read_archive(const uint8_t *data, size_t size, size_t chunk, uint32_t oid, struct collected *c,
                        struct memory_source *source_out)
{
    struct memory_source m = {.data = data, .size = size, .chunk = chunk};
    if (source_out)
        m = *source_out, m.data = data, m.size = size, m.chunk = chunk;
    struct pgb_tar_source source = {.payload = &m, .read = memory_read};
    struct pgb_tar_entry_callbacks cb = {.payload = c, .entry_begin = on_begin, .entry_data = on_data,
                                         .entry_end = on_end};
    pgb_error_clear(ctx);
    int rc = pgb_tar_stream_read(ctx, &source, "test.tar", oid, &cb);
    if (rc == PGB_OK)
        CU_ASSERT_EQUAL(m.pos, m.size); /* read to the end */
    return rc;
}

static void test_entries_come_out_whole_for_every_block_size(void)
{
    size_t size;
    uint8_t *tar = build_tar(base_items, &size);
    current_items = base_items;
    size_t chunks[] = {1, 7, 511, 512, 513, 65536, size};
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct collected c = {0};
        CU_ASSERT_EQUAL_FATAL(read_archive(tar, size, chunks[k], 0, &c, NULL), PGB_OK);
        CU_ASSERT_EQUAL_FATAL(c.count, 7);
        for (int i = 0; i < 7; i++) {
            CU_ASSERT_STRING_EQUAL(c.path[i], base_paths[i]);
            CU_ASSERT_EQUAL(c.mode[i], base_items[i].mode);
            CU_ASSERT_EQUAL(c.oid[i], 0);
            if (base_items[i].type == AE_IFREG) {
                CU_ASSERT_EQUAL(c.type[i], PGB_ENTRY_FILE);
                CU_ASSERT_EQUAL(c.size[i], base_items[i].size);
                CU_ASSERT_EQUAL(c.received[i], base_items[i].size);
                CU_ASSERT(c.content_ok[i]);
            }
        }
        CU_ASSERT_EQUAL(c.type[1], PGB_ENTRY_DIRECTORY);
        CU_ASSERT_EQUAL(c.type[5], PGB_ENTRY_SYMLINK);
        CU_ASSERT_STRING_EQUAL(c.link[5], "/srv/tablespaces/ts1");
    }
    free(tar);
}

static void test_tablespace_content_is_put_under_pg_tblspc(void)
{
    static const struct tar_item items[] = {
        {"PG_15_202209061/", AE_IFDIR, 0, NULL, 0700},
        {"PG_15_202209061/5/16386", AE_IFREG, 16384, NULL, 0600},
        {NULL, 0, 0, NULL, 0},
    };
    size_t size;
    uint8_t *tar = build_tar(items, &size);
    current_items = items;
    struct collected c = {0};
    CU_ASSERT_EQUAL_FATAL(read_archive(tar, size, 4096, 16385, &c, NULL), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(c.count, 2);
    CU_ASSERT_STRING_EQUAL(c.path[0], "pg_tblspc/16385/PG_15_202209061");
    CU_ASSERT_STRING_EQUAL(c.path[1], "pg_tblspc/16385/PG_15_202209061/5/16386");
    CU_ASSERT_EQUAL(c.oid[1], 16385);
    CU_ASSERT(c.content_ok[1]);
    free(tar);
}

static void test_archive_without_end_blocks_is_accepted(void)
{
    /* Servers 13 and 14 leave the two zero blocks out. */
    size_t size;
    uint8_t *tar = build_tar(base_items, &size);
    current_items = base_items;
    while (size >= 512) {
        int zero = 1;
        for (size_t i = size - 512; i < size && zero; i++)
            zero = tar[i] == 0;
        if (!zero)
            break;
        size -= 512;
    }
    struct collected c = {0};
    CU_ASSERT_EQUAL(read_archive(tar, size, 1000, 0, &c, NULL), PGB_OK);
    CU_ASSERT_EQUAL(c.count, 7);
    CU_ASSERT(c.content_ok[6]);
    CU_ASSERT_EQUAL(c.received[6], 8192);
    free(tar);
}

static void test_unsafe_names_are_refused(void)
{
    const char *names[] = {"../etc/passwd", "/etc/passwd", "base/../../x", "./", NULL};
    for (int i = 0; names[i]; i++) {
        struct tar_item items[] = {{names[i], AE_IFREG, 10, NULL, 0600}, {NULL, 0, 0, NULL, 0}};
        size_t size;
        uint8_t *tar = build_tar(items, &size);
        current_items = items;
        struct collected c = {0};
        CU_ASSERT_EQUAL(read_archive(tar, size, 512, 0, &c, NULL), PGB_ECORRUPT);
        CU_ASSERT_EQUAL(c.count, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "unsafe name"));
        free(tar);
    }
}

static void test_truncated_archive_is_corrupt(void)
{
    size_t size;
    uint8_t *tar = build_tar(base_items, &size);
    current_items = base_items;
    /* Cut inside base/1/1259's data: header blocks, then 100000 of its 300001 bytes. */
    struct collected c = {0};
    CU_ASSERT_EQUAL(read_archive(tar, 4 * 512 + 227 + 285 + 512 + 100000, 8192, 0, &c, NULL), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "test.tar"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "base/1/1259"));
    free(tar);
}

static void test_data_after_the_end_is_corrupt(void)
{
    size_t size;
    uint8_t *tar = build_tar(base_items, &size);
    current_items = base_items;
    /* Zero padding after the end-of-archive blocks is fine; anything else means the stream is out of step. */
    uint8_t *longer = calloc(1, size + 4096);
    memcpy(longer, tar, size);
    struct collected padded = {0};
    CU_ASSERT_EQUAL(read_archive(longer, size + 4096, 512, 0, &padded, NULL), PGB_OK);
    longer[size + 4000] = 'x';
    struct collected c = {0};
    CU_ASSERT_EQUAL(read_archive(longer, size + 4096, 512, 0, &c, NULL), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "after its end"));
    free(longer);
    free(tar);
}

static void test_other_entry_types_are_refused(void)
{
    struct tar_item fifo[] = {{"base/fifo", AE_IFIFO, 0, NULL, 0600}, {NULL, 0, 0, NULL, 0}};
    struct tar_item hardlink[] = {{"a", AE_IFREG, 3, NULL, 0600}, {"b", AE_IFREG, 0, "a", 0600}, {NULL, 0, 0, NULL, 0}};
    const struct tar_item *cases[] = {fifo, hardlink};
    for (int i = 0; i < 2; i++) {
        size_t size;
        uint8_t *tar = build_tar(cases[i], &size);
        current_items = cases[i];
        struct collected c = {0};
        CU_ASSERT_EQUAL(read_archive(tar, size, 512, 0, &c, NULL), PGB_ECORRUPT);
        free(tar);
    }
}

static void test_callback_code_stops_the_read(void)
{
    size_t size;
    uint8_t *tar = build_tar(base_items, &size);
    current_items = base_items;
    struct collected c = {.stop_in_data_with = -77};
    CU_ASSERT_EQUAL(read_archive(tar, size, 512, 0, &c, NULL), -77);
    CU_ASSERT_EQUAL(c.count, 1); /* stopped in the first file */
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "entry_data"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "backup_label"));

    struct collected own = {.stop_in_data_with = PGB_EIO, .stop_records_own_error = 1};
    CU_ASSERT_EQUAL(read_archive(tar, size, 512, 0, &own, NULL), PGB_EIO);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "disk full in the test");
    free(tar);
}

static void test_source_failure_is_returned_as_is(void)
{
    size_t size;
    uint8_t *tar = build_tar(base_items, &size);
    current_items = base_items;
    for (int call = 1; call <= 3; call++) {
        struct collected c = {0};
        struct memory_source failing = {.fail_at_call = call};
        CU_ASSERT_EQUAL(read_archive(tar, size, 512, 0, &c, &failing), PGB_ECONNECTION);
        CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "the test source broke");
    }
    free(tar);
}

static void test_path_normalise(void)
{
    char out[64];
    CU_ASSERT(pgb_tar_path_normalise("./pg_wal/archive_status", out, sizeof(out)) == 0);
    CU_ASSERT_STRING_EQUAL(out, "pg_wal/archive_status");
    CU_ASSERT(pgb_tar_path_normalise("pg_tblspc/16385/", out, sizeof(out)) == 0);
    CU_ASSERT_STRING_EQUAL(out, "pg_tblspc/16385");
    CU_ASSERT(pgb_tar_path_normalise("a/./b//c/", out, sizeof(out)) == 0);
    CU_ASSERT_STRING_EQUAL(out, "a/b/c");
    CU_ASSERT(pgb_tar_path_normalise("..hidden/x..", out, sizeof(out)) == 0); /* ".." only as a whole component */
    CU_ASSERT_STRING_EQUAL(out, "..hidden/x..");
    CU_ASSERT(pgb_tar_path_normalise("", out, sizeof(out)) == -1);
    CU_ASSERT(pgb_tar_path_normalise(".", out, sizeof(out)) == -1);
    CU_ASSERT(pgb_tar_path_normalise("a/../b", out, sizeof(out)) == -1);
    CU_ASSERT(pgb_tar_path_normalise("/a", out, sizeof(out)) == -1);
    CU_ASSERT(pgb_tar_path_normalise("abcdefgh", out, 8) == -1);
    CU_ASSERT(pgb_tar_path_normalise("abcdefg", out, 8) == 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"entries_come_out_whole_for_every_block_size", test_entries_come_out_whole_for_every_block_size},
        {"tablespace_content_is_put_under_pg_tblspc", test_tablespace_content_is_put_under_pg_tblspc},
        {"archive_without_end_blocks_is_accepted", test_archive_without_end_blocks_is_accepted},
        {"unsafe_names_are_refused", test_unsafe_names_are_refused},
        {"truncated_archive_is_corrupt", test_truncated_archive_is_corrupt},
        {"data_after_the_end_is_corrupt", test_data_after_the_end_is_corrupt},
        {"other_entry_types_are_refused", test_other_entry_types_are_refused},
        {"callback_code_stops_the_read", test_callback_code_stops_the_read},
        {"source_failure_is_returned_as_is", test_source_failure_is_returned_as_is},
        {"path_normalise", test_path_normalise},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"base_backup_tar", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
