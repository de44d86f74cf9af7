/* libFuzzer target: EndpointSlices → Kong admin URLs, the path of --kong-admin-service. Each
 * document is parsed as the informer does (kgc_api_parse_text, pkg/api), turned into the Kong
 * module's view of a slice exactly as kgc_kongdiscovery_sync() does (pkg/kongdiscovery), and
 * given to kgc_kong_urls_from_endpoints() (pkg/kong/parse.c), whose URLs kgc_kong_set_instances()
 * normalises and probes.
 *
 * Input: byte 0 picks the port name (bits 0-1: "admin", "", "admin-tls", "http"), then JSON
 * documents separated by "\n---\n" (at most 16), each an EndpointSlice.
 *
 * Properties (abort on violation): no crash, no leak; the URLs are sorted, without duplicates,
 * at most one per address; each is "http://" or "https://" + the address (bracketed when it holds
 * a ':') + ":" + the chosen port (1..65535) of a slice; and when the address is made of the
 * characters of an IP literal or a DNS name, kgc_kong_url_normalize() accepts the URL unchanged.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_endpointslice_urls
 *   build-fuzz/fuzz/fuzz_endpointslice_urls test/fuzz/corpus/fuzz_endpointslice_urls */
#include "kgc/api.h"
#include "kgc/kong.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DOCS 16

static void check(bool ok)
{
    if (!ok)
        abort();
}

static enum kgc_kong_cond cond_of(int8_t v)
{
    return v == KGC_API_UNSET ? KGC_KONG_COND_UNSET : v ? KGC_KONG_COND_TRUE : KGC_KONG_COND_FALSE;
}

/* Characters of an IPv4/IPv6 literal or a DNS name. */
static bool plain_host(const char *s)
{
    if (!s[0])
        return false;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              ch == '.' || ch == '-' || ch == ':'))
            return false;
    }
    return true;
}

/* Whether url is scheme://ADDR:PORT for an address of an endpoint of the slices and the port
 * some slice chose. */
static bool url_from_input(const char *url, const struct kgc_api_endpointslice *const *sl, size_t n)
{
    const char *rest = strncmp(url, "https://", 8) == 0  ? url + 8
                       : strncmp(url, "http://", 7) == 0 ? url + 7
                                                         : NULL;
    if (!rest)
        return false;
    for (size_t s = 0; s < n; s++)
        for (uint32_t e = 0; e < sl[s]->n_endpoints; e++)
            for (uint32_t a = 0; a < sl[s]->endpoints[e].n_addresses; a++) {
                const char *addr = sl[s]->endpoints[e].addresses[a];
                if (!addr)
                    continue;
                bool v6 = strchr(addr, ':') != NULL;
                for (uint32_t p = 0; p < sl[s]->n_ports; p++) {
                    char want[KGC_KONG_URL_MAX + 16];
                    snprintf(want, sizeof(want), "%s%s%s:%d", v6 ? "[" : "", addr, v6 ? "]" : "",
                             (int)sl[s]->ports[p].port);
                    if (sl[s]->ports[p].port >= 1 && sl[s]->ports[p].port <= 65535 &&
                        strcmp(rest, want) == 0)
                        return true;
                }
            }
    return false;
}

/* The address part of a URL this module built: between "//" and the last ':' (brackets off). */
static void url_host(const char *url, char *out, size_t size)
{
    const char *h = strstr(url, "//") + 2, *colon = strrchr(url, ':');
    size_t n = colon > h ? (size_t)(colon - h) : 0;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    snprintf(out, size, "%.*s", (int)n, h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const port_names[] = {"admin", "", "admin-tls", "http"};
    if (size < 1)
        return 0;
    const char *port_name = port_names[data[0] & 3];
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    struct kgc_api_obj *objs[MAX_DOCS];
    const struct kgc_api_endpointslice *sl[MAX_DOCS];
    size_t n = 0, n_eps = 0, n_ports = 0, n_addrs = 0;
    char *doc = text;
    while (doc && n < MAX_DOCS) {
        char *sep = strstr(doc, "\n---\n");
        if (sep)
            *sep = '\0';
        struct kgc_api_obj *o = NULL;
        if (kgc_api_parse_text(KGC_API_ENDPOINTSLICE, doc, strlen(doc), &o, NULL) == 0) {
            const struct kgc_api_endpointslice *s = kgc_api_as_endpointslice(o);
            check(s != NULL);
            objs[n] = o;
            sl[n++] = s;
            n_eps += s->n_endpoints;
            n_ports += s->n_ports;
            for (uint32_t e = 0; e < s->n_endpoints; e++)
                n_addrs += s->endpoints[e].n_addresses;
        }
        doc = sep ? sep + 5 : NULL;
    }

    /* kgc_kongdiscovery_sync()'s translation */
    struct kgc_kong_endpoint_slice slices[MAX_DOCS];
    struct kgc_kong_endpoint *eps = calloc(n_eps ? n_eps : 1, sizeof(*eps));
    struct kgc_kong_endpoint_port *ports = calloc(n_ports ? n_ports : 1, sizeof(*ports));
    check(eps && ports);
    size_t e = 0, p = 0;
    for (size_t i = 0; i < n; i++) {
        slices[i].endpoints = &eps[e];
        slices[i].n_endpoints = sl[i]->n_endpoints;
        for (uint32_t j = 0; j < sl[i]->n_endpoints; j++, e++) {
            eps[e].addresses = sl[i]->endpoints[j].addresses;
            eps[e].n_addresses = sl[i]->endpoints[j].n_addresses;
            eps[e].ready = cond_of(sl[i]->endpoints[j].ready);
            eps[e].serving = cond_of(sl[i]->endpoints[j].serving);
            eps[e].terminating = cond_of(sl[i]->endpoints[j].terminating);
        }
        slices[i].ports = &ports[p];
        slices[i].n_ports = sl[i]->n_ports;
        for (uint32_t j = 0; j < sl[i]->n_ports; j++, p++) {
            ports[p].name = sl[i]->ports[j].name;
            ports[p].port = sl[i]->ports[j].port;
            ports[p].app_protocol = sl[i]->ports[j].app_protocol;
        }
    }

    char **urls = NULL;
    size_t n_urls = 0;
    check(kgc_kong_urls_from_endpoints(slices, n, port_name, &urls, &n_urls) == 0);
    check(n_urls <= n_addrs);
    for (size_t i = 0; i < n_urls; i++) {
        check(urls[i] != NULL && strlen(urls[i]) < KGC_KONG_URL_MAX);
        check(i == 0 || strcmp(urls[i - 1], urls[i]) < 0);
        check(url_from_input(urls[i], sl, n));
        char host[KGC_KONG_URL_MAX];
        url_host(urls[i], host, sizeof(host));
        if (plain_host(host)) {
            char norm[KGC_KONG_URL_MAX];
            check(kgc_kong_url_normalize(urls[i], norm, NULL) == 0);
            check(strcmp(norm, urls[i]) == 0);
        }
    }
    kgc_kong_urls_free(urls, n_urls);
    free(ports);
    free(eps);
    for (size_t i = 0; i < n; i++)
        kgc_api_obj_unref(objs[i]);
    free(text);
    return 0;
}
