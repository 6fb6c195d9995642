/*
 * libpgbackup: the whole public API.
 */
#ifndef PGBACKUP_PGBACKUP_H
#define PGBACKUP_PGBACKUP_H

#include "common.h"
#include "version.h"
#include "error.h"
#include "ctx.h"
#include "log.h"
#include "progress.h"
#include "options.h"
#include "probe.h"
#include "storage.h"
#include "repo.h"
#include "keys.h"
#include "restore.h"
#include "policy.h"
#include "drill.h"
#include "status.h"
#include "runbook.h"
#include "expire.h"
#include "verify.h"
#include "job.h"
#include "manifest.h"
#include "wal.h"
#include "wal_receive.h"
#include "logical.h"

#endif /* PGBACKUP_PGBACKUP_H */
