#include "core/clock.h"

#include <stdio.h>

void pgb_time_iso8601(time_t when, char out[PGB_ISO8601_SIZE])
{
    struct tm utc;
    gmtime_r(&when, &utc);
    strftime(out, PGB_ISO8601_SIZE, "%Y-%m-%dT%H:%M:%S+00:00", &utc);
}
