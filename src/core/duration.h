/*
 * Durations as people write them in goals and retention: "90s", "15min",
 * "1h", "7d", "2w", or a plain number of seconds.
 */
#ifndef PGB_CORE_DURATION_H
#define PGB_CORE_DURATION_H

#include <stdint.h>

/* Parse text into seconds (>= 0). Returns 0, or -1 for text that is not a duration. */
int pgb_duration_parse(const char *text, int64_t *seconds);

/* The shortest exact text for seconds ("15min", "7d", "90s"), into out (32 bytes). */
const char *pgb_duration_format(int64_t seconds, char out[32]);

#endif
