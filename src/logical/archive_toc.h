/*
 * The table of contents of a pg_dump custom-format archive, as this library
 * keeps it beside the dump (databases/<name>/toc.json): every entry with its
 * dump id, kind, schema, name, owner, catalog ids and the dump ids it depends
 * on, and where its data block lies in the archive.
 *
 * Why the offsets: pg_dump writing to a pipe cannot seek back to fill in the
 * data offsets of its TOC, so pg_restore -j, and -L restores in another order,
 * would have to scan the archive for each block. The scanner
 * (archive_scanner.h) records every block's offset as the stream passes, and a
 * restore writes them into the TOC of its copy: the bytes pg_dump itself
 * writes to a file (format of pg_backup_archiver.c WriteToc/ReadOffset).
 */
#ifndef PGB_LOGICAL_ARCHIVE_TOC_H
#define PGB_LOGICAL_ARCHIVE_TOC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <pgbackup/common.h>

/* pg_backup_archiver.h: the data offset flag of a TOC entry. */
enum { PGB_OFFSET_POS_NOT_SET = 1, PGB_OFFSET_POS_SET = 2, PGB_OFFSET_NO_DATA = 3 };

struct pgb_archive_entry {
    int id;                    /* dump id */
    int had_dumper;            /* the entry has a data block (TABLE DATA, BLOBS) */
    uint32_t catalog_table;    /* catalog of the object's kind (1259 pg_class); 0 for TABLE DATA */
    uint32_t catalog_oid;      /* the object's OID; the table's for TABLE DATA */
    char *desc;                /* "TABLE", "INDEX", "FK CONSTRAINT"... */
    char *namespace;           /* schema, or NULL */
    char *tag;                 /* name; "table constraint" for constraints and triggers */
    char *owner;               /* or NULL */
    int section;               /* 1 none, 2 pre-data, 3 data, 4 post-data */
    int *deps;
    size_t dep_count;
    uint64_t offset_field;     /* where the entry's data offset field (flag byte, then off_size bytes) is */
    int offset_flag;           /* as pg_dump wrote it */
    int64_t data_offset;       /* the entry's data block in the archive; -1 when none was seen */
    uint64_t data_length;
    char *file;                /* directory format: the entry's data file ("3401.dat.gz"), or NULL */
};

/* pg_backup.h ArchiveFormat: custom archives, and toc.dat of directory archives (which says tar). */
enum { PGB_ARCHIVE_CUSTOM = 1, PGB_ARCHIVE_DIRECTORY_TOC = 3 };

struct pgb_archive_toc {
    int format;                /* PGB_ARCHIVE_CUSTOM or PGB_ARCHIVE_DIRECTORY_TOC */
    int version[3];            /* archive format version: 1.14.0 for pg_dump 15 */
    int int_size, off_size;
    char *dbname, *server_version, *dump_version;
    uint64_t prefix_size;      /* header and TOC: the data blocks begin here */
    uint64_t archive_size;     /* the whole archive */
    struct pgb_archive_entry *entries;
    size_t count;
};

void pgb_archive_toc_clear(struct pgb_archive_toc *toc);

/* The entry of dump id, or NULL (entries are sorted by id in a lookup built on demand: linear here). */
const struct pgb_archive_entry *pgb_archive_toc_find(const struct pgb_archive_toc *toc, int id);

/* Index of dump id in toc->entries, or -1. */
long pgb_archive_toc_index(const struct pgb_archive_toc *toc, int id);

/* The TOC as stored (format_version 1); NULL when out of memory. */
json_t *pgb_archive_toc_to_json(const struct pgb_archive_toc *toc);

/* Read a stored TOC; PGB_ECORRUPT naming what when it is not one. */
int pgb_archive_toc_from_json(pgb_ctx *ctx, json_t *doc, struct pgb_archive_toc *toc);

/*
 * Write the recorded data offsets into prefix, a copy of the archive's first
 * bytes (header and TOC, size bytes): every entry whose block was seen gets
 * K_OFFSET_POS_SET and its offset, as pg_dump writes them when it can seek.
 */
void pgb_archive_toc_patch_offsets(const struct pgb_archive_toc *toc, uint8_t *prefix, size_t size);

#endif
