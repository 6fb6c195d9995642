#include "core/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

void pgb_time_iso8601(time_t when, char out[PGB_ISO8601_SIZE])
{
    struct tm utc;
    gmtime_r(&when, &utc);
    strftime(out, PGB_ISO8601_SIZE, "%Y-%m-%dT%H:%M:%S+00:00", &utc);
}

/* Exactly n decimal digits at *p; advances *p. */
static int digits(const char **p, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        value = value * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = value;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int parse_offset(const char *p, int *seconds)
{
    if (*p == 'Z' || *p == 'z') {
        *seconds = 0;
        return p[1] == '\0' ? 0 : -1;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p++ == '-' ? -1 : 1, hours, minutes = 0;
    if (digits(&p, 2, &hours) != 0 || hours > 15)
        return -1;
    if (*p == ':')
        p++;
    if (*p && (digits(&p, 2, &minutes) != 0 || minutes > 59))
        return -1;
    *seconds = sign * (hours * 3600 + minutes * 60);
    return *p == '\0' ? 0 : -1;
}

int pgb_time_parse_iso8601(const char *text, int64_t *micros)
{
    const char *p = text;
    int year, month, day, hour, minute, second = 0, fraction = 0, offset;
    if (!p || digits(&p, 4, &year) != 0 || *p++ != '-' || digits(&p, 2, &month) != 0 || *p++ != '-' ||
        digits(&p, 2, &day) != 0 || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &hour) != 0 || *p++ != ':' || digits(&p, 2, &minute) != 0)
        return -1;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &second) != 0)
            return -1;
        if (*p == '.' || *p == ',') {
            p++;
            int scale = 100000, any = 0;
            for (; isdigit((unsigned char)*p); p++, any = 1) {
                fraction += (*p - '0') * scale;
                scale /= 10;
            }
            if (!any)
                return -1;
        }
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
        second > 59 || parse_offset(p, &offset) != 0)
        return -1;
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    *micros = seconds * 1000000 + fraction;
    return 0;
}

void pgb_time_id(const char *suffix, char out[PGB_TIME_ID_SIZE])
{
    struct timeval now;
    gettimeofday(&now, NULL);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &utc);
    snprintf(out, PGB_TIME_ID_SIZE, "%s.%03dZ-%.24s", stamp, (int)(now.tv_usec / 1000), suffix);
}
