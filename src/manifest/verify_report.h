/*
 * Building a pgb_verify_report: findings are added as they are found, then
 * the report is sealed, which writes its JSON form once.
 */
#ifndef PGB_MANIFEST_VERIFY_REPORT_H
#define PGB_MANIFEST_VERIFY_REPORT_H

#include <stdint.h>

#include <pgbackup/manifest.h>

/* The kinds of pgbackup/manifest.h; findings point to these strings. */
extern const char PGB_FINDING_MISSING[], PGB_FINDING_EXTRA[], PGB_FINDING_SIZE[], PGB_FINDING_CHECKSUM[],
    PGB_FINDING_WAL_MISSING[], PGB_FINDING_MANIFEST[];

/* An empty report about directory; NULL when out of memory. */
pgb_verify_report *pgb_verify_report_new(const char *directory);

/*
 * Add a problem: kind is one of the PGB_FINDING_* strings; path and message
 * are copied. Returns 0 or PGB_ENOMEM (nothing is recorded in a context: the
 * caller reports it).
 */
int pgb_verify_report_add(pgb_verify_report *report, const char *kind, const char *path, const char *message);

/* Count what was checked, for the JSON form. */
void pgb_verify_report_count(pgb_verify_report *report, uint64_t files, uint64_t bytes);

/* Write the JSON form; no finding may be added afterwards. Returns 0 or PGB_ENOMEM. */
int pgb_verify_report_seal(pgb_verify_report *report);

#endif
