/*
 * Where a WAL receiver resumes: after the end of what the repository holds
 * for the cluster, as pg_receivewal's FindStreamingStart looks at its folder.
 */
#ifndef PGB_WAL_WAL_RECEIVE_SCAN_H
#define PGB_WAL_WAL_RECEIVE_SCAN_H

#include <stdint.h>

#include "repo/repo.h"

struct pgb_wal_receive_start {
    int found;            /* the repository holds WAL of a timeline up to max_timeline */
    uint32_t timeline;
    uint64_t end;         /* the first byte it lacks */
    uint64_t partial_end; /* end, when a receiver's partial holds it (else 0) */
};

/*
 * Look through the cluster's archive for the newest WAL of timelines up to
 * max_timeline: complete segments (whoever stored them) and receivers'
 * partial segments, whose checksum records say where their WAL ends. The
 * newest end wins, then the higher timeline. A receiver's partial whose
 * segment is archived complete is removed on the way.
 *
 * @return 0, or a PGB_E* code recorded in repo's context
 */
int pgb_wal_receive_scan(struct pgb_repo *repo, uint64_t segment_size, uint32_t max_timeline,
                         struct pgb_wal_receive_start *out);

#endif
