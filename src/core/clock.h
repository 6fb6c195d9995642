/*
 * Wall-clock time as the repository and reports write it: ISO 8601 with an
 * offset, always UTC ("2026-11-24T10:15:00+00:00").
 */
#ifndef PGB_CORE_CLOCK_H
#define PGB_CORE_CLOCK_H

#include <time.h>

enum { PGB_ISO8601_SIZE = 32 };

void pgb_time_iso8601(time_t when, char out[PGB_ISO8601_SIZE]);

#endif
