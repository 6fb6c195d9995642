/*
 * The keys a process holds for one repository (doc/repository-format.md, "Keys").
 */
#ifndef PGB_PIPELINE_KEYSET_H
#define PGB_PIPELINE_KEYSET_H

#include <stdint.h>

struct pgb_keyset {
    int encrypted;                   /* 0: objects are written with cipher 0 */
    uint8_t repository_public[32];   /* objects of cipher 1 are written to it */
    int has_private;                 /* can read cipher 1 objects */
    uint8_t repository_private[32];
    int has_writer;                  /* can write and read cipher 2 objects, name content */
    uint8_t writer[32];
    int has_id_key;                  /* the content-id key, derived once from the writer key */
    uint8_t id_key[32];
};

/* Which key seals an object's data key when the repository is encrypted. */
enum pgb_seal {
    PGB_SEAL_REPOSITORY = 1, /* cipher 1: backup content; only readers with the private key open it */
    PGB_SEAL_WRITER = 2      /* cipher 2: what the writing host must read back */
};

/* Wipe every key. */
void pgb_keyset_wipe(struct pgb_keyset *keys);

#endif
