#include "restore/server_pid.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>

int pgb_server_running(const char *dir, long *pid)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long found = 0;
    int read = fscanf(f, "%ld", &found) == 1;
    fclose(f);
    if (pid)
        *pid = found;
    return read && found > 0 && (kill((pid_t)found, 0) == 0 || errno == EPERM);
}
