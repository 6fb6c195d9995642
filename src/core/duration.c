#include "core/duration.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *unit;
    int64_t seconds;
} units[] = {{"s", 1},      {"sec", 1},     {"second", 1},  {"seconds", 1}, {"min", 60},    {"minute", 60},
             {"minutes", 60}, {"h", 3600},  {"hour", 3600}, {"hours", 3600}, {"d", 86400},  {"day", 86400},
             {"days", 86400}, {"w", 604800}, {"week", 604800}, {"weeks", 604800}};

int pgb_duration_parse(const char *text, int64_t *seconds)
{
    if (!text || !isdigit((unsigned char)*text))
        return -1;
    errno = 0;
    char *end = NULL;
    long long number = strtoll(text, &end, 10);
    if (errno || number < 0)
        return -1;
    while (*end == ' ')
        end++;
    int64_t scale = *end ? 0 : 1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !scale; i++)
        if (strcmp(end, units[i].unit) == 0)
            scale = units[i].seconds;
    if (!scale || number > INT64_MAX / scale)
        return -1;
    *seconds = (int64_t)number * scale;
    return 0;
}

const char *pgb_duration_format(int64_t seconds, char out[32])
{
    static const struct {
        const char *unit;
        int64_t seconds;
    } largest_first[] = {{"w", 604800}, {"d", 86400}, {"h", 3600}, {"min", 60}};
    for (size_t i = 0; i < sizeof(largest_first) / sizeof(largest_first[0]); i++)
        if (seconds > 0 && seconds % largest_first[i].seconds == 0) {
            snprintf(out, 32, "%lld%s", (long long)(seconds / largest_first[i].seconds), largest_first[i].unit);
            return out;
        }
    snprintf(out, 32, "%llds", (long long)seconds);
    return out;
}
