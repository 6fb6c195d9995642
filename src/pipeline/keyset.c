#include "pipeline/keyset.h"

#include <openssl/crypto.h>

void pgb_keyset_wipe(struct pgb_keyset *keys)
{
    OPENSSL_cleanse(keys, sizeof(*keys));
}
