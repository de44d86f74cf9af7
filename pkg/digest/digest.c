/* digest: MD5 hex digests (see include/kgc/digest.h). */
#include "kgc/digest.h"

#include <openssl/evp.h>

void kgc_digest_md5_hex(const void *data, size_t len, char out[KGC_DIGEST_MD5_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    if (!EVP_Digest(data, len, md, &n, EVP_md5(), NULL) || n != 16)
        return;
    for (unsigned i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[KGC_DIGEST_MD5_HEX_LEN] = '\0';
}
