/*
 * libpgbackup: library version.
 */
#ifndef PGBACKUP_VERSION_H
#define PGBACKUP_VERSION_H

#include "common.h"

PGB_BEGIN_DECLS

/** Version of the headers as MAJOR * 10000 + MINOR * 100 + PATCH. */
#define PGB_VERSION_NUMBER 100
/** Version of the headers as text. */
#define PGB_VERSION_STRING "0.1.0"

/** The probe of a PostgreSQL server (pgb_pg_probe) is available. */
#define PGB_HAS_PROBE 1

/**
 * Version of the library that is running, which may be newer than the headers
 * a program was built with.
 *
 * @return MAJOR * 10000 + MINOR * 100 + PATCH
 */
PGB_EXTERN int pgb_version(void);

/**
 * Version of the library that is running, as "MAJOR.MINOR.PATCH".
 *
 * @return a static string; never free it
 */
PGB_EXTERN const char *pgb_version_string(void);

PGB_END_DECLS

#endif /* PGBACKUP_VERSION_H */
