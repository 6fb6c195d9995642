/*
 * What a drill runs on its restored server: the caller's probes and the
 * built-in checks. Results are JSON arrays for the drill report.
 */
#ifndef PGB_RESTORE_DRILL_CHECKS_H
#define PGB_RESTORE_DRILL_CHECKS_H

#include <jansson.h>

/*
 * Run each probe ('SQL' or 'SQL => EXPECTED') in database postgres of the
 * server conninfo reaches; appends {sql, expected, got, passed, error} to
 * results. Returns how many failed.
 */
int pgb_drill_run_probes(const char *conninfo, const char *const *probes, size_t count, json_t *results);

/*
 * The built-in checks, in every database that accepts connections: it
 * connects, its catalog has relations, amcheck's bt_index_check passes on
 * every valid btree index (when the extension is available), and the largest
 * tables can be counted. Appends {name, passed, detail} to results. Returns how
 * many failed.
 */
int pgb_drill_run_checks(const char *conninfo, json_t *results);

/* The point recovery reached: {lsn, time, timeline} (a new reference; values null when unknown). */
json_t *pgb_drill_reached(const char *conninfo);

#endif
