/*
 * Small string helpers used across the library.
 */
#ifndef PGB_CORE_TEXT_H
#define PGB_CORE_TEXT_H

#include <stdarg.h>
#include <stddef.h>

/* malloc'd printf; NULL when out of memory. */
char *pgb_text_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *pgb_text_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* malloc'd copy; NULL when out of memory (or when s is NULL). */
char *pgb_text_dup(const char *s);

/* Levenshtein distance between a and b, capped at 255. */
size_t pgb_text_edit_distance(const char *a, const char *b);

/* Remove white space at both ends, in place; returns s. */
char *pgb_text_trim(char *s);

/* Case-insensitive ASCII comparison for equality. */
int pgb_text_equal_nocase(const char *a, const char *b);

#endif
