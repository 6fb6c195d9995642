/*
 * libpgbackup: the root context, and freeing what the library hands over.
 */
#ifndef PGBACKUP_CTX_H
#define PGBACKUP_CTX_H

#include "common.h"

PGB_BEGIN_DECLS

/**
 * Make a context. There is no library-wide initialisation: each context is
 * independent of the others.
 *
 * @param out  set to the new context; free it with pgb_ctx_free()
 * @return 0, PGB_EINVALID when out is NULL, or PGB_ENOMEM
 */
PGB_EXTERN int pgb_ctx_new(pgb_ctx **out);

/**
 * Free a context. Every handle made from it must be freed first.
 *
 * @param ctx  a context, or NULL (nothing happens)
 */
PGB_EXTERN void pgb_ctx_free(pgb_ctx *ctx);

/**
 * Free memory that a function documented "free with pgb_free" handed over.
 *
 * @param ptr  such memory, or NULL
 */
PGB_EXTERN void pgb_free(void *ptr);

PGB_END_DECLS

#endif /* PGBACKUP_CTX_H */
