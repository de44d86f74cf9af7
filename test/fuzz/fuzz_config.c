/* libFuzzer target: kgc's command line, environment and durations (pkg/config). The input is
 * split at NUL bytes: tokens of the form KGC_NAME=VALUE are the environment, the others argv
 * (after the program name). Every token is also read as a duration; one that parses formats back
 * to a text that parses to the same nanoseconds.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_config
 *   build-fuzz/fuzz/fuzz_config test/fuzz/corpus/fuzz_config */
#include "kgc/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TOKENS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_TOKENS + 2], *envp[MAX_TOKENS + 1];
    int argc = 0, envc = 0;
    argv[argc++] = "kgc";
    for (char *p = text; p <= text + size && argc <= MAX_TOKENS && envc < MAX_TOKENS;
         p += strlen(p) + 1) {
        if (strncmp(p, "KGC_", 4) == 0 && strchr(p, '='))
            envp[envc++] = p;
        else if (*p)
            argv[argc++] = p;
        uint64_t ns = 0, again = 0;
        if (kgc_config_parse_duration(p, &ns) == 0) {
            char buf[64];
            kgc_config_format_duration(ns, buf, sizeof(buf));
            if (kgc_config_parse_duration(buf, &again) != 0 || again != ns)
                abort();
        }
    }
    argv[argc] = NULL;
    envp[envc] = NULL;
    struct kgc_config cfg;
    enum kgc_config_action action = KGC_CONFIG_RUN;
    struct kgc_err err = {0};
    int rc = kgc_config_parse(&cfg, argc, argv, envp, &action, &err);
    if (rc != 0 && !err.msg[0])
        abort();
    kgc_config_free(&cfg);
    free(text);
    return 0;
}
