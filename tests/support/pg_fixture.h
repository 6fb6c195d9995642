/*
 * A real PostgreSQL server for integration tests: initdb into a private temp
 * folder, a free loopback port, start, and always stop and remove, even when the
 * test process dies (a watchdog process cleans up after it).
 */
#ifndef PGB_TEST_PG_FIXTURE_H
#define PGB_TEST_PG_FIXTURE_H

#include <limits.h>
#include <sys/types.h>

struct pg_fixture {
    char dir[256];           /* private temp folder: data/, server.log, socket */
    char datadir[300];
    char bindir[1024];
    int port;
    char conninfo[512];      /* host=127.0.0.1 port=N user=postgres dbname=postgres */
    pid_t watchdog;
    int watchdog_pipe;       /* write end; its closing tells the watchdog to clean up */
    char error[1024];        /* why start failed */
};

/*
 * Start a server. settings: NULL-terminated "name = value" lines for
 * postgresql.conf (wal_level, archive_mode, max_wal_senders...), or NULL.
 * initdb runs with data checksums on. Returns 0, or -1 with f->error set.
 */
int pg_fixture_start(struct pg_fixture *f, const char *const *settings);

/* Stop the server (fast shutdown) and remove its folder. Safe to call twice. */
void pg_fixture_stop(struct pg_fixture *f);

/* Run SQL through psql; returns psql's exit status, output (trimmed) into out. */
int pg_fixture_psql(const struct pg_fixture *f, const char *sql, char *out, size_t out_size);

/* Where PostgreSQL's programs are: $PGB_TEST_PG_BINDIR or the configured default. */
const char *pg_fixture_bindir(void);

#endif
