/*
 * The custom-format archive scanner: a pg_dump archive as it streams from a
 * pipe (built here byte by byte as pg_backup_archiver.c WriteHead/WriteToc and
 * pg_backup_custom.c write it) gives its TOC and the offset and length of
 * every data block, whatever the pieces it comes in; the offsets written into
 * the TOC are the ones pg_dump writes when it can seek; damaged, cut and
 * unknown archives are refused, naming why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "logical/archive_scanner.h"
#include "test_main.h"

static pgb_ctx *ctx;

struct buffer {
    uint8_t data[65536];
    size_t size;
};

static void put_byte(struct buffer *b, int v)
{
    b->data[b->size++] = (uint8_t)v;
}

static void put_int(struct buffer *b, long v)
{
    put_byte(b, v < 0);
    unsigned long u = (unsigned long)(v < 0 ? -v : v);
    for (int i = 0; i < 4; i++)
        put_byte(b, (int)((u >> (8 * i)) & 0xff));
}

static void put_str(struct buffer *b, const char *s)
{
    if (!s) {
        put_int(b, -1);
        return;
    }
    put_int(b, (long)strlen(s));
    memcpy(b->data + b->size, s, strlen(s));
    b->size += strlen(s);
}

/* Offsets of each entry's data offset field, filled by make_archive. */
static size_t offset_fields[3];
static size_t block_starts[3], block_ends[3];

static int directory_toc; /* make toc.dat of a directory archive instead */

/* An archive of version 1.minor: a schema, a table with data, a large object block; data written after the TOC. */
static void make_archive(struct buffer *b, int minor)
{
    memset(b, 0, sizeof(*b));
    memcpy(b->data, "PGDMP", 5);
    b->size = 5;
    put_byte(b, 1);
    put_byte(b, minor);
    put_byte(b, 0);
    put_byte(b, 4); /* int size */
    put_byte(b, 8); /* offset size */
    put_byte(b, directory_toc ? 3 : 1); /* custom, or the "tar" a directory archive's toc.dat says */
    if (minor >= 15)
        put_byte(b, 0);
    else
        put_int(b, 0);
    for (int i = 0; i < 7; i++)
        put_int(b, i);
    put_str(b, "shop");
    put_str(b, "15.4");
    put_str(b, "15.4");
    put_int(b, 3);
    struct {
        int id, dumper;
        const char *table, *oid, *tag, *desc, *ns, *owner;
        const char *deps[3];
    } entries[] = {
        {6, 0, "2615", "16386", "shop", "SCHEMA", NULL, "postgres", {NULL}},
        {219, 1, "0", "16401", "orders", "TABLE DATA", "shop", "app owner", {"6", NULL}},
        {300, 1, "0", "0", "BLOBS", "BLOBS", NULL, NULL, {"219", "6", NULL}},
    };
    for (int i = 0; i < 3; i++) {
        put_int(b, entries[i].id);
        put_int(b, entries[i].dumper);
        put_str(b, entries[i].table);
        put_str(b, entries[i].oid);
        put_str(b, entries[i].tag);
        put_str(b, entries[i].desc);
        put_int(b, 2);
        put_str(b, "CREATE ...;");
        put_str(b, "DROP ...;");
        put_str(b, NULL);
        put_str(b, entries[i].ns);
        put_str(b, "");
        if (minor >= 14)
            put_str(b, "heap");
        if (minor >= 16)
            put_int(b, 'r');
        put_str(b, entries[i].owner);
        put_str(b, "false");
        for (int d = 0; entries[i].deps[d]; d++)
            put_str(b, entries[i].deps[d]);
        put_str(b, NULL);
        offset_fields[i] = b->size;
        if (directory_toc) {
            char file[32];
            snprintf(file, sizeof(file), "%d.dat", entries[i].id);
            put_str(b, entries[i].dumper ? file : "");
            continue;
        }
        put_byte(b, entries[i].dumper ? 1 : 3);
        for (int k = 0; k < 8; k++)
            put_byte(b, 0);
    }
    if (directory_toc)
        return;
    /* orders: two chunks */
    block_starts[1] = b->size;
    put_byte(b, 1);
    put_int(b, 219);
    put_int(b, 6);
    memcpy(b->data + b->size, "1\tone\n", 6);
    b->size += 6;
    put_int(b, 3);
    memcpy(b->data + b->size, "\\.\n", 3);
    b->size += 3;
    put_int(b, 0);
    block_ends[1] = b->size;
    /* large objects: two of them, the second empty */
    block_starts[2] = b->size;
    put_byte(b, 3);
    put_int(b, 300);
    put_int(b, 16500);
    put_int(b, 4);
    memcpy(b->data + b->size, "blob", 4);
    b->size += 4;
    put_int(b, 0);
    put_int(b, 16501);
    put_int(b, 0);
    put_int(b, 0);
    block_ends[2] = b->size;
}

static int scan(const struct buffer *b, size_t piece, pgb_archive_scanner **out)
{
    CU_ASSERT_EQUAL_FATAL(pgb_archive_scanner_new(ctx, out), PGB_OK);
    int rc = PGB_OK;
    for (size_t at = 0; rc == PGB_OK && at < b->size; at += piece)
        rc = pgb_archive_scanner_feed(*out, b->data + at, b->size - at < piece ? b->size - at : piece);
    return rc == PGB_OK ? pgb_archive_scanner_finish(*out) : rc;
}

static int setup(void)
{
    return pgb_ctx_new(&ctx);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

static void test_toc_and_block_offsets_whatever_the_pieces(void)
{
    struct buffer b;
    make_archive(&b, 14);
    size_t pieces[] = {1, 3, 7, 100, 65536};
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
        pgb_archive_scanner *s = NULL;
        CU_ASSERT_EQUAL_FATAL(scan(&b, pieces[p], &s), PGB_OK);
        const struct pgb_archive_toc *toc = pgb_archive_scanner_toc(s);
        CU_ASSERT_EQUAL(toc->count, 3);
        CU_ASSERT_EQUAL(toc->version[1], 14);
        CU_ASSERT_STRING_EQUAL(toc->dbname, "shop");
        CU_ASSERT_EQUAL(toc->archive_size, b.size);
        CU_ASSERT_EQUAL(toc->prefix_size, block_starts[1]);
        const struct pgb_archive_entry *e = &toc->entries[1];
        CU_ASSERT_EQUAL(e->id, 219);
        CU_ASSERT_STRING_EQUAL(e->desc, "TABLE DATA");
        CU_ASSERT_STRING_EQUAL(e->namespace, "shop");
        CU_ASSERT_STRING_EQUAL(e->owner, "app owner");
        CU_ASSERT_EQUAL(e->catalog_oid, 16401);
        CU_ASSERT_EQUAL(e->dep_count, 1);
        CU_ASSERT_EQUAL(e->deps[0], 6);
        CU_ASSERT_EQUAL(e->offset_field, offset_fields[1]);
        CU_ASSERT_EQUAL(e->data_offset, (int64_t)block_starts[1]);
        CU_ASSERT_EQUAL(e->data_length, block_ends[1] - block_starts[1]);
        CU_ASSERT_EQUAL(toc->entries[2].data_offset, (int64_t)block_starts[2]);
        CU_ASSERT_EQUAL(toc->entries[2].data_length, block_ends[2] - block_starts[2]);
        CU_ASSERT_EQUAL(toc->entries[0].data_offset, -1);
        CU_ASSERT_EQUAL(toc->entries[0].offset_flag, PGB_OFFSET_NO_DATA);
        CU_ASSERT_PTR_NULL(toc->entries[0].namespace);
        size_t size = 0;
        const uint8_t *prefix = pgb_archive_scanner_prefix(s, &size);
        CU_ASSERT_EQUAL(size, block_starts[1]);
        CU_ASSERT_EQUAL(memcmp(prefix, b.data, size), 0);
        pgb_archive_scanner_free(s);
    }
}

static void test_newer_formats_are_read(void)
{
    for (int minor = 12; minor <= 16; minor++) {
        struct buffer b;
        make_archive(&b, minor);
        pgb_archive_scanner *s = NULL;
        CU_ASSERT_EQUAL(scan(&b, 5, &s), PGB_OK);
        CU_ASSERT_EQUAL(pgb_archive_scanner_toc(s)->entries[1].data_offset, (int64_t)block_starts[1]);
        pgb_archive_scanner_free(s);
    }
}

static void test_offsets_are_written_as_pg_dump_writes_them(void)
{
    struct buffer b;
    make_archive(&b, 14);
    pgb_archive_scanner *s = NULL;
    CU_ASSERT_EQUAL_FATAL(scan(&b, 64, &s), PGB_OK);
    struct buffer patched = b;
    pgb_archive_toc_patch_offsets(pgb_archive_scanner_toc(s), patched.data, block_starts[1]);
    for (int i = 1; i < 3; i++) {
        const uint8_t *field = patched.data + offset_fields[i];
        CU_ASSERT_EQUAL(field[0], PGB_OFFSET_POS_SET);
        uint64_t offset = 0;
        for (int k = 0; k < 8; k++)
            offset |= (uint64_t)field[1 + k] << (8 * k);
        CU_ASSERT_EQUAL(offset, block_starts[i]);
    }
    /* The entry without data keeps its flag; nothing past the TOC changes. */
    CU_ASSERT_EQUAL(patched.data[offset_fields[0]], PGB_OFFSET_NO_DATA);
    CU_ASSERT_EQUAL(memcmp(patched.data + block_starts[1], b.data + block_starts[1], b.size - block_starts[1]), 0);
    /* And reading the patched archive again finds the same blocks. */
    pgb_archive_scanner *again = NULL;
    CU_ASSERT_EQUAL_FATAL(scan(&patched, 1000, &again), PGB_OK);
    CU_ASSERT_EQUAL(pgb_archive_scanner_toc(again)->entries[1].offset_flag, PGB_OFFSET_POS_SET);
    pgb_archive_scanner_free(again);
    pgb_archive_scanner_free(s);
}

static void test_toc_survives_json(void)
{
    struct buffer b;
    make_archive(&b, 14);
    pgb_archive_scanner *s = NULL;
    CU_ASSERT_EQUAL_FATAL(scan(&b, 64, &s), PGB_OK);
    const struct pgb_archive_toc *toc = pgb_archive_scanner_toc(s);
    json_t *doc = pgb_archive_toc_to_json(toc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    struct pgb_archive_toc back;
    CU_ASSERT_EQUAL_FATAL(pgb_archive_toc_from_json(ctx, doc, &back), PGB_OK);
    CU_ASSERT_EQUAL(back.count, toc->count);
    CU_ASSERT_EQUAL(back.prefix_size, toc->prefix_size);
    CU_ASSERT_EQUAL(back.off_size, 8);
    for (size_t i = 0; i < back.count; i++) {
        CU_ASSERT_EQUAL(back.entries[i].id, toc->entries[i].id);
        CU_ASSERT_STRING_EQUAL(back.entries[i].desc, toc->entries[i].desc);
        CU_ASSERT_EQUAL(back.entries[i].dep_count, toc->entries[i].dep_count);
        CU_ASSERT_EQUAL(back.entries[i].data_offset, toc->entries[i].data_offset);
        CU_ASSERT_EQUAL(back.entries[i].offset_field, toc->entries[i].offset_field);
    }
    CU_ASSERT_PTR_NOT_NULL(pgb_archive_toc_find(&back, 300));
    CU_ASSERT_PTR_NULL(pgb_archive_toc_find(&back, 301));
    pgb_archive_toc_clear(&back);
    json_object_set_new(doc, "format_version", json_integer(9));
    CU_ASSERT_EQUAL(pgb_archive_toc_from_json(ctx, doc, &back), PGB_ECORRUPT);
    json_decref(doc);
    pgb_archive_scanner_free(s);
}

static void test_directory_toc_names_each_entrys_file(void)
{
    struct buffer b;
    directory_toc = 1;
    make_archive(&b, 14);
    directory_toc = 0;
    struct pgb_archive_toc toc;
    int complete = 0;
    CU_ASSERT_EQUAL_FATAL(pgb_archive_parse_toc(ctx, b.data, b.size, &toc, &complete), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(complete, 1);
    CU_ASSERT_EQUAL(toc.format, PGB_ARCHIVE_DIRECTORY_TOC);
    CU_ASSERT_EQUAL(toc.prefix_size, b.size);
    CU_ASSERT_EQUAL(toc.count, 3);
    CU_ASSERT_STRING_EQUAL(toc.entries[1].file, "219.dat");
    CU_ASSERT_EQUAL(toc.entries[1].data_offset, -1);
    json_t *doc = pgb_archive_toc_to_json(&toc);
    struct pgb_archive_toc back;
    CU_ASSERT_EQUAL_FATAL(pgb_archive_toc_from_json(ctx, doc, &back), PGB_OK);
    CU_ASSERT_EQUAL(back.format, PGB_ARCHIVE_DIRECTORY_TOC);
    CU_ASSERT_STRING_EQUAL(back.entries[2].file, "300.dat");
    pgb_archive_toc_clear(&back);
    json_decref(doc);
    pgb_archive_toc_clear(&toc);
    /* Cut short, it asks for more. */
    CU_ASSERT_EQUAL(pgb_archive_parse_toc(ctx, b.data, b.size - 3, &toc, &complete), PGB_OK);
    CU_ASSERT_EQUAL(complete, 0);
    /* The streaming scanner reads custom archives only. */
    pgb_archive_scanner *s = NULL;
    CU_ASSERT_EQUAL(scan(&b, 4096, &s), PGB_ECORRUPT);
    pgb_archive_scanner_free(s);
}

static void test_damaged_cut_and_unknown_archives_are_refused(void)
{
    struct buffer b;
    pgb_archive_scanner *s = NULL;
    make_archive(&b, 14);
    b.data[0] = 'X';
    CU_ASSERT_EQUAL(scan(&b, 4096, &s), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "PGDMP"));
    pgb_archive_scanner_free(s);

    make_archive(&b, 17);
    CU_ASSERT_EQUAL(scan(&b, 4096, &s), PGB_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "1.17"));
    pgb_archive_scanner_free(s);

    /* Cut inside the TOC, then inside a data block. */
    make_archive(&b, 14);
    struct buffer cut = b;
    cut.size = offset_fields[1];
    CU_ASSERT_EQUAL(scan(&cut, 4096, &s), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "table of contents"));
    pgb_archive_scanner_free(s);
    cut.size = block_ends[1] - 2;
    CU_ASSERT_EQUAL(scan(&cut, 4096, &s), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "inside a data block"));
    pgb_archive_scanner_free(s);

    /* A block of a dump id the TOC does not have. */
    make_archive(&b, 14);
    b.data[block_starts[1] + 2] = 0x77;
    CU_ASSERT_EQUAL(scan(&b, 4096, &s), PGB_ECORRUPT);
    pgb_archive_scanner_free(s);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"test_toc_and_block_offsets_whatever_the_pieces", test_toc_and_block_offsets_whatever_the_pieces},
        {"test_newer_formats_are_read", test_newer_formats_are_read},
        {"test_offsets_are_written_as_pg_dump_writes_them", test_offsets_are_written_as_pg_dump_writes_them},
        {"test_toc_survives_json", test_toc_survives_json},
        {"test_directory_toc_names_each_entrys_file", test_directory_toc_names_each_entrys_file},
        {"test_damaged_cut_and_unknown_archives_are_refused", test_damaged_cut_and_unknown_archives_are_refused},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"archive_scanner", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
