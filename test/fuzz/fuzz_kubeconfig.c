/* libFuzzer target: kubeconfig parsing (YAML via libyaml, base64 via OpenSSL). Input: YAML. It
 * is read with its current-context and with the context named "dev"; no file is read.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     $(pkg-config --cflags yaml-0.1 libcrypto) test/fuzz/fuzz_kubeconfig.c \
 *     pkg/k8s/kubeconfig.c pkg/err/err.c -o build-fuzz/fuzz_kubeconfig \
 *     $(pkg-config --libs yaml-0.1 libcrypto)
 *   build-fuzz/fuzz_kubeconfig test/fuzz/corpus/fuzz_kubeconfig */
#include "kgc/k8s.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *contexts[] = {NULL, "dev"};
    for (int i = 0; i < 2; i++) {
        struct kgc_k8s_config *cfg = NULL;
        struct kgc_err err = {0};
        int rc = kgc_k8s_config_from_kubeconfig_mem((const char *)data, size, "/base", contexts[i],
                                                    &cfg, &err);
        if (rc == 0) {
            /* a config that loads is usable: a server URL and a namespace */
            if (!cfg || !cfg->server || !cfg->namespace ||
                (strncmp(cfg->server, "http://", 7) != 0 &&
                 strncmp(cfg->server, "https://", 8) != 0))
                abort();
            kgc_k8s_config_free(cfg);
        } else if (cfg || err.msg[0] == '\0') {
            abort(); /* a failure leaves nothing behind and says why */
        }
    }
    return 0;
}
