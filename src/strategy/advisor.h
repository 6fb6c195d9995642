/*
 * The advisor: goals not met and the classic mistakes, found in the facts of
 * a cluster. Each finding has a severity ("error", "warning"), a stable code,
 * a message naming what is wrong, and the fix.
 */
#ifndef PGB_STRATEGY_ADVISOR_H
#define PGB_STRATEGY_ADVISOR_H

#include <jansson.h>

#include "strategy/facts.h"

/* The findings, errors first: an array of {severity, code, message, fix} (a new reference). */
json_t *pgb_advisor_findings(const struct pgb_strategy_facts *facts);

/*
 * The age in seconds of the newest point the cluster can be recovered to: the
 * newest archived WAL when there is a physical backup to replay it onto, else
 * the newest backup's end; -1 with no backup at all.
 */
int64_t pgb_advisor_recovery_point_age(const struct pgb_strategy_facts *facts);

#endif
