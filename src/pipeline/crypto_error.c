#include "pipeline/crypto_error.h"

#include <openssl/err.h>

#include "core/error.h"

int pgb_crypto_error(pgb_ctx *ctx, int code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    int rc = pgb_error_set(ctx, code, "%s: %s", what, reason ? reason : "OpenSSL gave no reason");
    ERR_clear_error();
    return rc;
}

void pgb_crypto_error_discard(void)
{
    ERR_clear_error();
}
