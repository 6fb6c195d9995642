#include "logical/archive_scanner.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

/* pg_backup_archiver.h */
enum { BLOCK_DATA = 1, BLOCK_BLOBS = 3, MIN_MINOR = 12, MAX_MINOR = 16 };

/* ---- the header and TOC, parsed from a buffer that may end early ---- */

struct cursor {
    const uint8_t *data;
    size_t size, pos;
    int int_size, off_size;
    int short_read; /* the buffer ended inside the TOC */
};

static int take(struct cursor *c, size_t n)
{
    if (c->short_read || c->size - c->pos < n) {
        c->short_read = 1;
        return 0;
    }
    c->pos += n;
    return 1;
}

static int read_byte(struct cursor *c, int *out)
{
    if (!take(c, 1))
        return 0;
    *out = c->data[c->pos - 1];
    return 1;
}

/* WriteInt: a sign byte, then int_size bytes, least significant first. */
static int read_int(struct cursor *c, int64_t *out)
{
    size_t start = c->pos;
    if (!take(c, (size_t)c->int_size + 1))
        return 0;
    uint64_t value = 0;
    for (int i = 0; i < c->int_size; i++)
        value |= (uint64_t)c->data[start + 1 + (size_t)i] << (8 * i);
    *out = c->data[start] ? -(int64_t)value : (int64_t)value;
    return 1;
}

/* WriteStr: a length (-1 for NULL), then the bytes. *out may be NULL to skip. */
static int read_str(pgb_ctx *ctx, struct cursor *c, char **out, int *failed)
{
    int64_t length;
    if (out)
        *out = NULL;
    if (!read_int(c, &length))
        return 0;
    if (length < 0)
        return 1;
    size_t start = c->pos;
    if (!take(c, (size_t)length))
        return 0;
    if (out) {
        *out = malloc((size_t)length + 1);
        if (!*out) {
            *failed = pgb_error_nomem(ctx);
            return 0;
        }
        memcpy(*out, c->data + start, (size_t)length);
        (*out)[length] = '\0';
    }
    return 1;
}

static int corrupt(pgb_ctx *ctx, const char *what)
{
    return pgb_error_set(ctx, PGB_ECORRUPT, "pg_dump's output is not a custom-format archive this library "
                         "understands: %s", what);
}

static int parse_header(pgb_ctx *ctx, struct cursor *c, struct pgb_archive_toc *toc)
{
    if (c->size >= 5 && memcmp(c->data, "PGDMP", 5) != 0)
        return corrupt(ctx, "no PGDMP magic at its start");
    int major = 0, minor = 0, rev = 0, int_size = 0, off_size = 0, format = 0, algorithm = 0;
    if (!take(c, 5) || !read_byte(c, &major) || !read_byte(c, &minor) || !read_byte(c, &rev) ||
        !read_byte(c, &int_size) || !read_byte(c, &off_size) || !read_byte(c, &format))
        return PGB_OK;
    if (major != 1 || minor < MIN_MINOR || minor > MAX_MINOR)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED, "pg_dump wrote archive format %d.%d; this library knows 1.%d to "
                             "1.%d (pg_dump 9.5 to 17)", major, minor, MIN_MINOR, MAX_MINOR);
    if (int_size < 1 || int_size > 8 || off_size < 1 || off_size > 8)
        return corrupt(ctx, "integer or offset size out of range");
    if (format != PGB_ARCHIVE_CUSTOM && format != PGB_ARCHIVE_DIRECTORY_TOC)
        return corrupt(ctx, "neither the custom format nor a directory archive's toc.dat");
    toc->format = format;
    toc->version[0] = major;
    toc->version[1] = minor;
    toc->version[2] = rev;
    toc->int_size = c->int_size = int_size;
    toc->off_size = c->off_size = off_size;
    int64_t ignored;
    if (minor >= 15)
        read_byte(c, &algorithm);
    else
        read_int(c, &ignored); /* compression level */
    for (int i = 0; i < 7; i++) /* creation time */
        read_int(c, &ignored);
    int failed = PGB_OK;
    read_str(ctx, c, &toc->dbname, &failed);
    read_str(ctx, c, &toc->server_version, &failed);
    read_str(ctx, c, &toc->dump_version, &failed);
    return failed;
}

static int parse_oid(const char *text, uint32_t *out)
{
    char *end = NULL;
    unsigned long value = text ? strtoul(text, &end, 10) : 0;
    *out = (uint32_t)value;
    return text && end != text && *end == '\0';
}

static int add_dep(pgb_ctx *ctx, struct pgb_archive_entry *e, const char *text)
{
    char *end = NULL;
    long id = strtol(text, &end, 10);
    if (end == text || *end || id <= 0 || id > 0x7fffffff)
        return corrupt(ctx, "a dependency that is not a dump id");
    int *grown = realloc(e->deps, (e->dep_count + 1) * sizeof(*grown));
    if (!grown)
        return pgb_error_nomem(ctx);
    e->deps = grown;
    e->deps[e->dep_count++] = (int)id;
    return PGB_OK;
}

/* One TOC entry (pg_backup_archiver.c ReadToc, custom format's _ReadExtraToc). */
static int parse_entry(pgb_ctx *ctx, struct cursor *c, const struct pgb_archive_toc *toc, struct pgb_archive_entry *e)
{
    int minor = toc->version[1], failed = PGB_OK;
    int64_t id = 0, had_dumper = 0, section = 0, relkind;
    char *table = NULL, *oid = NULL, *with_oids = NULL;
    e->data_offset = -1;
    if (!read_int(c, &id) || !read_int(c, &had_dumper))
        return PGB_OK;
    if (id <= 0 || id > 0x7fffffff)
        return corrupt(ctx, "a dump id out of range");
    e->id = (int)id;
    e->had_dumper = had_dumper != 0;
    read_str(ctx, c, &table, &failed);
    read_str(ctx, c, &oid, &failed);
    read_str(ctx, c, &e->tag, &failed);
    read_str(ctx, c, &e->desc, &failed);
    read_int(c, &section);
    read_str(ctx, c, NULL, &failed); /* defn */
    read_str(ctx, c, NULL, &failed); /* dropStmt */
    read_str(ctx, c, NULL, &failed); /* copyStmt */
    read_str(ctx, c, &e->namespace, &failed);
    read_str(ctx, c, NULL, &failed); /* tablespace */
    if (minor >= 14)
        read_str(ctx, c, NULL, &failed); /* tableam */
    if (minor >= 16)
        read_int(c, &relkind);
    read_str(ctx, c, &e->owner, &failed);
    read_str(ctx, c, &with_oids, &failed);
    e->section = (int)section;
    if (!c->short_read && failed == PGB_OK &&
        (!parse_oid(table, &e->catalog_table) || !parse_oid(oid, &e->catalog_oid) || !e->desc || !e->tag))
        failed = corrupt(ctx, "an entry without its catalog id, kind or name");
    free(table);
    free(oid);
    free(with_oids);
    for (;;) {
        char *dep = NULL;
        if (failed != PGB_OK || !read_str(ctx, c, &dep, &failed) || !dep)
            break;
        failed = add_dep(ctx, e, dep);
        free(dep);
    }
    if (failed != PGB_OK || c->short_read)
        return failed;
    /* pg_backup_directory.c _ReadExtraToc: the data file's name instead of an offset. */
    if (toc->format == PGB_ARCHIVE_DIRECTORY_TOC) {
        read_str(ctx, c, &e->file, &failed);
        return failed;
    }
    e->offset_field = c->pos;
    if (!read_byte(c, &e->offset_flag) || !take(c, (size_t)c->off_size))
        return PGB_OK;
    if (e->offset_flag < PGB_OFFSET_POS_NOT_SET || e->offset_flag > PGB_OFFSET_NO_DATA)
        return corrupt(ctx, "a data offset flag out of range");
    return PGB_OK;
}

int pgb_archive_parse_toc(pgb_ctx *ctx, const uint8_t *data, size_t size, struct pgb_archive_toc *toc,
                          int *complete)
{
    memset(toc, 0, sizeof(*toc));
    *complete = 0;
    struct cursor c = {.data = data, .size = size};
    int rc = parse_header(ctx, &c, toc);
    int64_t count = 0;
    if (rc == PGB_OK && !c.short_read && read_int(&c, &count) && (count < 0 || count > 100000000))
        rc = corrupt(ctx, "a TOC entry count out of range");
    if (rc == PGB_OK && !c.short_read && count > 0 && !(toc->entries = calloc((size_t)count, sizeof(*toc->entries))))
        rc = pgb_error_nomem(ctx);
    for (int64_t i = 0; rc == PGB_OK && !c.short_read && i < count; i++) {
        rc = parse_entry(ctx, &c, toc, &toc->entries[i]);
        toc->count = (size_t)i + 1;
    }
    if (rc != PGB_OK || c.short_read) {
        pgb_archive_toc_clear(toc);
        return rc;
    }
    toc->prefix_size = c.pos;
    *complete = 1;
    return PGB_OK;
}

/* ---- the stream ---- */

enum scan_state { SCAN_TOC, SCAN_BLOCK_TYPE, SCAN_BLOCK_ID, SCAN_BLOB_OID, SCAN_CHUNK_LENGTH, SCAN_SKIP };

struct pgb_archive_scanner {
    pgb_ctx *ctx;
    enum scan_state state;
    uint8_t *prefix; /* while SCAN_TOC: every byte so far; then the header and TOC */
    size_t prefix_size, prefix_capacity, next_attempt;
    struct pgb_archive_toc toc;
    int *index;      /* entries' positions sorted by dump id */
    uint64_t position;
    uint8_t number[16]; /* an integer split between two feeds */
    size_t number_size;
    int block_type;
    long block_entry;
    uint64_t block_start, skip;
    int in_blob;
};

int pgb_archive_scanner_new(pgb_ctx *ctx, pgb_archive_scanner **out)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return pgb_error_nomem(ctx);
    (*out)->ctx = ctx;
    (*out)->next_attempt = 4096;
    return PGB_OK;
}

static int compare_ids(const void *a, const void *b, void *entries)
{
    const struct pgb_archive_entry *e = entries;
    int x = e[*(const int *)a].id, y = e[*(const int *)b].id;
    return (x > y) - (x < y);
}

static long find_entry(const pgb_archive_scanner *s, int id)
{
    size_t low = 0, high = s->toc.count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        int found = s->toc.entries[s->index[middle]].id;
        if (found == id)
            return s->index[middle];
        if (found < id)
            low = middle + 1;
        else
            high = middle;
    }
    return -1;
}

static int build_index(pgb_archive_scanner *s)
{
    s->index = malloc((s->toc.count ? s->toc.count : 1) * sizeof(*s->index));
    if (!s->index)
        return pgb_error_nomem(s->ctx);
    for (size_t i = 0; i < s->toc.count; i++)
        s->index[i] = (int)i;
    qsort_r(s->index, s->toc.count, sizeof(*s->index), compare_ids, s->toc.entries);
    return PGB_OK;
}

/* Gather one integer; 1 once it is whole (in *value). */
static int gather_int(pgb_archive_scanner *s, const uint8_t **p, const uint8_t *end, int64_t *value)
{
    size_t need = (size_t)s->toc.int_size + 1;
    while (s->number_size < need && *p < end)
        s->number[s->number_size++] = *(*p)++;
    if (s->number_size < need)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < s->toc.int_size; i++)
        v |= (uint64_t)s->number[1 + i] << (8 * i);
    *value = s->number[0] ? -(int64_t)v : (int64_t)v;
    s->number_size = 0;
    return 1;
}

static void end_block(pgb_archive_scanner *s, uint64_t at)
{
    struct pgb_archive_entry *e = &s->toc.entries[s->block_entry];
    e->data_offset = (int64_t)s->block_start;
    e->data_length = at - s->block_start;
    s->state = SCAN_BLOCK_TYPE;
}

/* Measure data blocks in bytes that follow the TOC; base is the archive position of data[0]. */
static int scan_blocks(pgb_archive_scanner *s, const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    uint64_t base = s->position;
    int64_t value;
    while (p < end) {
        switch (s->state) {
        case SCAN_BLOCK_TYPE:
            s->block_start = base + (uint64_t)(p - data);
            s->block_type = *p++;
            if (s->block_type != BLOCK_DATA && s->block_type != BLOCK_BLOBS)
                return corrupt(s->ctx, "an unknown data block type");
            s->state = SCAN_BLOCK_ID;
            break;
        case SCAN_BLOCK_ID:
            if (!gather_int(s, &p, end, &value))
                break;
            s->block_entry = value > 0 && value <= 0x7fffffff ? find_entry(s, (int)value) : -1;
            if (s->block_entry < 0)
                return corrupt(s->ctx, "a data block of no TOC entry");
            s->in_blob = 0;
            s->state = s->block_type == BLOCK_BLOBS ? SCAN_BLOB_OID : SCAN_CHUNK_LENGTH;
            break;
        case SCAN_BLOB_OID:
            if (!gather_int(s, &p, end, &value))
                break;
            if (value == 0) {
                end_block(s, base + (uint64_t)(p - data));
            } else {
                s->in_blob = 1;
                s->state = SCAN_CHUNK_LENGTH;
            }
            break;
        case SCAN_CHUNK_LENGTH:
            if (!gather_int(s, &p, end, &value))
                break;
            if (value < 0)
                return corrupt(s->ctx, "a negative data chunk length");
            if (value > 0) {
                s->skip = (uint64_t)value;
                s->state = SCAN_SKIP;
            } else if (s->in_blob) {
                s->state = SCAN_BLOB_OID;
            } else {
                end_block(s, base + (uint64_t)(p - data));
            }
            break;
        case SCAN_SKIP: {
            size_t n = (size_t)(end - p) < s->skip ? (size_t)(end - p) : (size_t)s->skip;
            p += n;
            s->skip -= n;
            if (s->skip == 0)
                s->state = SCAN_CHUNK_LENGTH;
            break;
        }
        case SCAN_TOC:
            return corrupt(s->ctx, "internal: data before the TOC");
        }
    }
    s->position = base + size;
    return PGB_OK;
}

/* Try to read the TOC from the bytes kept so far; on success the rest are data. */
static int try_toc(pgb_archive_scanner *s)
{
    int complete = 0;
    int rc = pgb_archive_parse_toc(s->ctx, s->prefix, s->prefix_size, &s->toc, &complete);
    if (rc != PGB_OK || !complete)
        return rc;
    if (s->toc.format != PGB_ARCHIVE_CUSTOM)
        return corrupt(s->ctx, "a directory archive's toc.dat where a custom archive was expected");
    rc = build_index(s);
    if (rc != PGB_OK)
        return rc;
    size_t toc_end = (size_t)s->toc.prefix_size, extra = s->prefix_size - toc_end;
    s->state = SCAN_BLOCK_TYPE;
    s->position = toc_end;
    s->prefix_size = toc_end;
    return extra ? scan_blocks(s, s->prefix + toc_end, extra) : PGB_OK;
}

int pgb_archive_scanner_feed(pgb_archive_scanner *s, const void *data, size_t size)
{
    if (s->state != SCAN_TOC)
        return scan_blocks(s, data, size);
    if (s->prefix_size + size > s->prefix_capacity) {
        size_t capacity = s->prefix_capacity ? s->prefix_capacity : 65536;
        while (capacity < s->prefix_size + size)
            capacity *= 2;
        uint8_t *grown = realloc(s->prefix, capacity);
        if (!grown)
            return pgb_error_nomem(s->ctx);
        s->prefix = grown;
        s->prefix_capacity = capacity;
    }
    memcpy(s->prefix + s->prefix_size, data, size);
    s->prefix_size += size;
    /* Parse again only when the bytes doubled: the total work stays linear in the TOC's size. */
    if (s->prefix_size < s->next_attempt)
        return PGB_OK;
    s->next_attempt = s->prefix_size * 2;
    return try_toc(s);
}

int pgb_archive_scanner_finish(pgb_archive_scanner *s)
{
    int rc = s->state == SCAN_TOC ? try_toc(s) : PGB_OK;
    if (rc == PGB_OK && s->state == SCAN_TOC)
        rc = corrupt(s->ctx, "it ends inside its table of contents");
    if (rc == PGB_OK && (s->state != SCAN_BLOCK_TYPE || s->number_size))
        rc = corrupt(s->ctx, "it ends inside a data block");
    if (rc == PGB_OK)
        s->toc.archive_size = s->position;
    return rc;
}

const uint8_t *pgb_archive_scanner_prefix(const pgb_archive_scanner *s, size_t *size)
{
    *size = s->state == SCAN_TOC ? 0 : s->prefix_size;
    return s->prefix;
}

const struct pgb_archive_toc *pgb_archive_scanner_toc(const pgb_archive_scanner *s)
{
    return &s->toc;
}

void pgb_archive_scanner_free(pgb_archive_scanner *s)
{
    if (!s)
        return;
    pgb_archive_toc_clear(&s->toc);
    free(s->index);
    free(s->prefix);
    free(s);
}
