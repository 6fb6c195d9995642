#include <pgbackup/version.h>

int pgb_version(void)
{
    return PGB_VERSION_NUMBER;
}

const char *pgb_version_string(void)
{
    return PGB_VERSION_STRING;
}
