/*
 * UTF-8 checks for file names: PostgreSQL writes a name as "Path" only when it
 * is valid UTF-8 (pg_verify_mbstr), else as hex in "Encoded-Path"; JSON
 * reports need valid UTF-8 too.
 */
#ifndef PGB_MANIFEST_UTF8_H
#define PGB_MANIFEST_UTF8_H

#include <stddef.h>

/*
 * Length of the valid UTF-8 sequence at s (at most size bytes), or 0 when the
 * bytes there are not one: overlong forms, surrogates, code points above
 * U+10FFFF and NUL are refused, as pg_utf8_islegal() does.
 */
size_t pgb_utf8_sequence_length(const unsigned char *s, size_t size);

/* Whether all size bytes of s are valid UTF-8. */
int pgb_utf8_is_valid(const char *s, size_t size);

/*
 * A malloc'd copy of s in which every byte that does not begin a valid
 * sequence is replaced by U+FFFD, for JSON output; NULL when out of memory.
 */
char *pgb_utf8_sanitized(const char *s);

#endif
