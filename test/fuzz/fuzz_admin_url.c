/* libFuzzer target: admin URLs (--kong-admin-url, and EndpointSlice-derived URLs), their userinfo
 * and display names (pkg/kong/adminurl.c). Input: the URL text. Checked: a URL that splits has an
 * http(s) scheme, no query, fragment or '@' in its display authority, and the display URL plus the
 * userinfo rebuild the authority; a refused URL says why; the display name of anything is
 * printable and never holds the userinfo's '@'-terminated form.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     test/fuzz/fuzz_admin_url.c pkg/kong/adminurl.c pkg/err/err.c -o build-fuzz/fuzz_admin_url
 *   build-fuzz/fuzz_admin_url test/fuzz/corpus/fuzz_admin_url */
#include "kgc/kong.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    char out[KGC_KONG_URL_MAX], ui[KGC_KONG_URL_MAX], user[KGC_KONG_URL_MAX],
        pass[KGC_KONG_URL_MAX], disp[KGC_KONG_URL_MAX];
    struct kgc_err err = {0};
    int rc = kgc_kong_url_split(url, out, ui, &err);
    if (rc == 0) {
        size_t skip = strncmp(out, "http://", 7) == 0    ? 7
                      : strncmp(out, "https://", 8) == 0 ? 8
                                                         : 0;
        if (!skip || strpbrk(out, "?#") || !out[skip])
            abort();
        if (memchr(out + skip, '@', strcspn(out + skip, "/")))
            abort();
        if (ui[0]) {
            /* the original authority is userinfo '@' host */
            const char *at = url + skip + strlen(ui);
            if (strncmp(url + skip, ui, strlen(ui)) != 0 || *at != '@')
                abort();
            kgc_kong_userinfo_decode(ui, user, pass);
            if (strlen(user) > strlen(ui) || strlen(pass) > strlen(ui))
                abort();
        }
        if (kgc_kong_url_has_userinfo(url) != (ui[0] != '\0'))
            abort();
        char again[KGC_KONG_URL_MAX];
        if (kgc_kong_url_normalize(out, again, &err) != 0 || strcmp(again, out) != 0)
            abort(); /* a display URL is its own display URL */
    } else if (err.msg[0] == '\0') {
        abort();
    }
    kgc_kong_url_display(url, disp, sizeof(disp));
    for (const char *p = disp; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            abort();
    if (rc == 0 && ui[0] && strcmp(disp, out) != 0 && strncasecmp(disp, out, strlen(out)) != 0)
        abort(); /* for a valid URL the display name is the split's (up to the scheme's case) */
    free(url);
    return 0;
}
