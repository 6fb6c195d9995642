/*
 * Wall-clock time as the repository and reports write it: ISO 8601 with an
 * offset, always UTC ("2026-11-24T10:15:00+00:00"), and as users give it.
 */
#ifndef PGB_CORE_CLOCK_H
#define PGB_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

enum { PGB_ISO8601_SIZE = 32 };

void pgb_time_iso8601(time_t when, char out[PGB_ISO8601_SIZE]);

/*
 * Parse a time with an explicit offset, as recovery_target_time should be
 * given: "YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]" then "Z", "+HH", "+HHMM" or
 * "+HH:MM" (or '-'). A time without an offset is refused: the server would
 * read it in its own time zone, which may not be the caller's.
 *
 * @param micros  set to microseconds since 1970-01-01 00:00:00 UTC
 * @return 0, or -1 for text that is not such a time
 */
int pgb_time_parse_iso8601(const char *text, int64_t *micros);

/* Room for an id made by pgb_time_id(). */
enum { PGB_TIME_ID_SIZE = 64 };

/* An id for now that sorts by time: "20261125T101500.123Z-<suffix>" (backups, drills). */
void pgb_time_id(const char *suffix, char out[PGB_TIME_ID_SIZE]);

#endif
