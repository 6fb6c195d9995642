/*
 * Magic numbers that begin every public handle, so that entry points can tell a
 * live handle of the right type from a stale or foreign pointer.
 */
#ifndef PGB_CORE_HANDLE_H
#define PGB_CORE_HANDLE_H

#include <stdint.h>

enum pgb_handle_magic {
    PGB_MAGIC_CTX = 0x50474243,         /* "PGBC" */
    PGB_MAGIC_OPTIONS = 0x5047424f,     /* "PGBO" */
    PGB_MAGIC_SERVER_INFO = 0x50474249, /* "PGBI" */
    PGB_MAGIC_STORAGE = 0x50474253,     /* "PGBS" */
    PGB_MAGIC_STORAGE_READER = 0x50474252, /* "PGBR" */
    PGB_MAGIC_STORAGE_WRITER = 0x50474257, /* "PGBW" */
    PGB_MAGIC_REPO = 0x50474250,        /* "PGBP" */
    PGB_MAGIC_BACKUP_LIST = 0x5047424c, /* "PGBL" */
    PGB_MAGIC_JOB = 0x5047424a,         /* "PGBJ" */
    PGB_MAGIC_RESTORE_PLAN = 0x50474245, /* "PGBE" */
    PGB_MAGIC_WAL_RECEIVER = 0x50474256, /* "PGBV" */
    PGB_MAGIC_POLICY = 0x50474259,      /* "PGBY" */
    PGB_MAGIC_DRILL = 0x50474244,       /* "PGBD" */
    PGB_MAGIC_LOGICAL_RESTORE = 0x5047424b, /* "PGBK" */
    PGB_MAGIC_BACKUP_CONTENTS = 0x50474248, /* "PGBH" */
    PGB_MAGIC_STATUS = 0x50474254,      /* "PGBT" */
    PGB_MAGIC_FREED = 0x44454144        /* "DEAD": set on free to catch reuse */
};

#endif
