/*
 * libpgbackup: definitions shared by every public header.
 *
 * Included by each header of the library; programs include <pgbackup/pgbackup.h>
 * or the one header they need.
 */
#ifndef PGBACKUP_COMMON_H
#define PGBACKUP_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Marks a declaration as part of the exported API (symbols are hidden otherwise). */
#if defined(PGB_BUILDING_LIBRARY) && defined(__GNUC__)
#define PGB_EXTERN __attribute__((visibility("default")))
#else
#define PGB_EXTERN
#endif

#ifdef __cplusplus
#define PGB_BEGIN_DECLS extern "C" {
#define PGB_END_DECLS }
#else
#define PGB_BEGIN_DECLS
#define PGB_END_DECLS
#endif

PGB_BEGIN_DECLS

/**
 * The root handle: error state, log and progress callbacks, cancel flag.
 *
 * Every other handle is made from a context. A context and its handles are used
 * by one thread at a time; separate contexts are independent.
 */
typedef struct pgb_ctx pgb_ctx;

/** A set of key/value options checked against the options registry. */
typedef struct pgb_options pgb_options;

PGB_END_DECLS

#endif /* PGBACKUP_COMMON_H */
