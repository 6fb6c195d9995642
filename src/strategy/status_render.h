/*
 * Formats of a status document (status.c): text for people, the Prometheus
 * text exposition format, and a Nagios plugin line. Each returns a new string
 * (free()) or NULL when out of memory.
 */
#ifndef PGB_STRATEGY_STATUS_RENDER_H
#define PGB_STRATEGY_STATUS_RENDER_H

#include <jansson.h>

char *pgb_status_render_text(json_t *doc);
char *pgb_status_render_prometheus(json_t *doc);
char *pgb_status_render_nagios(json_t *doc);

#endif
