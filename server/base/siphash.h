/* server/base/siphash.h — SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash
 * for tables whose keys come from peers. Without the 128-bit key an attacker cannot choose
 * keys that share a bucket, so lookups stay O(1) under hostile input. siphash_key_new fills
 * a key from the kernel's random source. */
#ifndef MYNA_SIPHASH_H
#define MYNA_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
    uint64_t k0, k1;
};

uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len);
/* A fresh random key (getrandom; aborts if the kernel has none to give). */
void siphash_key_new(struct siphash_key *key);

#endif
