/*
 * Whether a PostgreSQL server runs on a data directory: its postmaster.pid
 * names a live process. Restores refuse such a folder; drills watch their
 * scratch server with it.
 */
#ifndef PGB_RESTORE_SERVER_PID_H
#define PGB_RESTORE_SERVER_PID_H

/* 1 when a live server's pid is in dir/postmaster.pid (set in *pid, which may be NULL), else 0. */
int pgb_server_running(const char *dir, long *pid);

#endif
