/* digest — message digests as lower-case hex text. One purpose: the MD5 that Kong computes over a
 * declarative configuration sent as a string (its configuration_hash), needed both by the
 * translator (which hashes what it writes) and by the Kong client (which hashes what it sends).
 *
 * Pure: no I/O, no globals, thread-safe (OpenSSL's one-shot EVP_Digest). */
#ifndef KGC_DIGEST_H
#define KGC_DIGEST_H

#include <stddef.h>

#define KGC_DIGEST_MD5_HEX_LEN 32 /* an MD5 digest in hex, without the NUL */

/* MD5 of the len bytes at data as 32 lower-case hex digits and a NUL, into out. Should OpenSSL
 * fail (no MD5 available), out is "": never a wrong digest. */
void kgc_digest_md5_hex(const void *data, size_t len, char out[KGC_DIGEST_MD5_HEX_LEN + 1]);

#endif
