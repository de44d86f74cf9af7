/* kgc-test-kong — the test Kong Admin API (DB-less) and, with --proxy-listen, its proxy. See
 * README.md beside this file. */
#include "kong_fake.h"
#include "proxy_internal.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMPONENT "kong-fake"

static void usage(void)
{
    printf(
        "usage: kgc-test-kong [options]\n"
        "A test Kong Admin API (DB-less mode): GET /, /status, /status/ready, POST/GET /config.\n"
        "\n"
        "  --admin-listen HOST:PORT  listen address (default 127.0.0.1:0; port 0 picks a free "
        "one)\n"
        "                            and print \"listening on http://HOST:PORT\" once listening\n"
        "  --listeners FILE          Kong root document (or its \"configuration\") whose\n"
        "                            proxy_listeners/stream_listeners GET / serves\n"
        "                            (default: the fixture's 8000, 8443 ssl, stream 9443 ssl)\n"
        "  --no-listeners            serve empty listener lists (encoded {} like Kong)\n"
        "  --node-id ID              node_id in GET / (default: a random UUIDv4 per start)\n"
        "  --version V               Kong version to report (default 3.9.1)\n"
        "  --router-flavor F         traditional | traditional_compatible | expressions\n"
        "                            (default traditional_compatible)\n"
        "  --plugins a,b,c           the enabled plugins (default: Kong's bundled set)\n"
        "  --start-delay-ms N        wait N ms before binding the port (a booting pod)\n"
        "  --not-ready-ms N          /status/ready answers 503 for N ms after start\n"
        "  --fail-config N           reject the next N POST /config (see --fail-config-code)\n"
        "  --fail-config-code C      400, 429 (with Retry-After: 1) or 503 (default 503)\n"
        "  --latency-ms N            delay every answer by N ms\n"
        "  --audit FILE              append one JSON line per request (time, method, path,\n"
        "                            status)\n"
        "  --max-body-mb N           request bodies over N MiB get 413 (default 10,\n"
        "                            Kong's nginx_admin_client_max_body_size)\n"
        "  --log-level L             debug | info | warn | error (default info)\n"
        "  --proxy-listen LIST       Kong's proxy_listen, e.g. '127.0.0.1:0, 127.0.0.1:0 ssl'\n"
        "                            (default off: no proxy). Prints \"proxy listening on\n"
        "                            http(s)://HOST:PORT\" per listener once bound; GET / then\n"
        "                            reports these listeners (port 0 as the bound port) unless\n"
        "                            --listeners/--no-listeners is given\n"
        "  --stream-listen LIST      Kong's stream_listen, e.g. '127.0.0.1:0, 127.0.0.1:0 ssl,\n"
        "                            127.0.0.1:0 udp' (default off). Prints \"stream listening on\n"
        "                            tcp|tls|udp://HOST:PORT\" per listener once bound; GET / "
        "then\n"
        "                            reports these listeners (port 0 as the bound port) unless\n"
        "                            --listeners/--no-listeners is given\n"
        "  --stream-backend-cert FILE  PEM certificate and key the TLS-passthrough stand-in\n"
        "                            backend presents (default: a self-signed one generated at\n"
        "                            start, CN=kgc-test-kong-stream-backend)\n"
        "  --stream-idle-ms N        stream connections: ClientHello, handshake and idle timeout\n"
        "                            (default 10000)\n"
        "  --stream-max-conns N      at most N open stream TCP/TLS connections, more are closed\n"
        "                            at once (default 256)\n"
        "  --allow-debug-header      Kong's allow_debug_header: \"Kong-Debug: 1\" adds\n"
        "                            Kong-Route-Id/-Name and Kong-Service-Id/-Name\n"
        "  --help                    this text\n"
        "\n"
        "Runtime fault injection: POST /_test/fail-config?n=N&code=C. SIGTERM/SIGINT stop it\n"
        "cleanly (exit 0).\n");
}

static int bad(const char *msg, const char *arg)
{
    kgc_error(LOG_COMPONENT, "bad option", KGC_F_STR("error", msg), KGC_F_STR("value", arg));
    return 2;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 >= cap) {
            if (cap >= (size_t)16 << 20) {
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            buf[len] = '\0';
            break;
        }
    }
    fclose(f);
    return buf;
}

/* "a,b,c" into a NULL-terminated vector (one allocation for the strings). */
static char **split_list(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++) {
        n += *p == ',';
    }
    char **v = calloc(n + 1, sizeof(*v));
    char *copy = strdup(s);
    if (!v || !copy) {
        free(v);
        free(copy);
        return NULL;
    }
    size_t i = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        v[i++] = tok;
    }
    if (i == 0) {
        free(copy);
    }
    return v;
}

static void free_list(char **v)
{
    if (v) {
        free(v[0]); /* the copy all entries point into */
        free(v);
    }
}

/* Waits for SIGTERM/SIGINT (blocked in all threads) up to ms (0 = forever). True when one came. */
static bool wait_signal(const sigset_t *set, unsigned ms)
{
    if (ms == 0) {
        int sig = 0;
        return sigwait(set, &sig) == 0;
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    return sigtimedwait(set, NULL, &ts) > 0;
}

/* The admin server accepted a configuration: the proxy serves it from now on. */
static void on_config(void *arg, json_object *entities)
{
    kf_proxy_set_config(arg, entities);
}

/* "HOST:0 flags" with the bound port instead of 0 (the test Kong binds port 0 to a free port;
 * Kong itself has no such thing). */
static void fix_port(json_object *l, unsigned port)
{
    json_object *p = NULL, *ls = NULL;
    if (!json_object_object_get_ex(l, "port", &p) || !json_object_is_type(p, json_type_int) ||
        json_object_get_int(p) != 0 || !json_object_object_get_ex(l, "listener", &ls)) {
        return;
    }
    const char *s = json_object_get_string(ls);
    const char *rb = strrchr(s, ']');
    const char *colon = strchr(rb ? rb : s, ':');
    if (!colon || colon[1] != '0') {
        return;
    }
    char buf[1024];
    snprintf(buf, sizeof(buf), "%.*s:%u%s", (int)(colon - s), s, port, colon + 2);
    json_object_object_add(l, "listener", json_object_new_string(buf));
    json_object_object_add(l, "port", json_object_new_int((int)port));
}

/* Starts the proxy, prints one "proxy listening on" line per listener, then one "stream listening
 * on" line per stream listener, and (when listeners_out is not NULL) gives the listeners document
 * GET / reports. Returns 0 or the exit status. */
static int start_proxy(struct kf_proxy_options *po, const char *flavor_name, struct kf_proxy **out,
                       char **listeners_out)
{
    int flavor = kf_flavor_parse(flavor_name ? flavor_name : "traditional_compatible");
    po->flavor = flavor < 0 ? KF_FLAVOR_TRADITIONAL_COMPATIBLE : (enum kf_flavor)flavor;
    const char *proxy_listen = po->proxy_listen;
    char err[600];
    int prc = kf_proxy_start(po, out, err, sizeof(err));
    if (prc != 0) {
        kgc_error(LOG_COMPONENT, "cannot start the proxy", KGC_F_STR("error", err));
        return prc == KGC_EINVAL ? 2 : 1;
    }
    struct kf_listen *ls = NULL;
    size_t n = 0;
    json_object *doc = NULL;
    if (proxy_listen) {
        if (kf_listen_parse(proxy_listen, &ls, &n, &doc, err, sizeof(err)) != 0) {
            return 2;
        }
    } else {
        /* only stream listeners: the proxy listeners reported stay the fixture's */
        doc = json_tokener_parse(kf_default_listeners_json());
        if (!doc) {
            return 1;
        }
    }
    json_object *pl = NULL;
    json_object_object_get_ex(doc, "proxy_listeners", &pl);
    for (size_t i = 0; i < n; i++) {
        unsigned port = kf_proxy_port(*out, i);
        bool v6 = strchr(ls[i].host, ':') != NULL && ls[i].host[0] != '[';
        printf("proxy listening on %s://%s%s%s:%u\n", ls[i].ssl ? "https" : "http", v6 ? "[" : "",
               ls[i].host, v6 ? "]" : "", port);
        kgc_info(LOG_COMPONENT, "proxy listening", KGC_F_STR("host", ls[i].host),
                 KGC_F_INT("port", port), KGC_F_STR("ssl", ls[i].ssl ? "true" : "false"));
        fix_port(json_object_array_get_idx(pl, i), port);
    }
    free(ls);
    ls = NULL;
    n = 0;
    json_object *sdoc = NULL;
    if (po->stream_listen &&
        kf_stream_listen_parse(po->stream_listen, &ls, &n, &sdoc, err, sizeof(err)) != 0) {
        json_object_put(doc);
        return 2;
    }
    json_object *sl = NULL;
    if (sdoc) {
        json_object_object_get_ex(sdoc, "stream_listeners", &sl);
        json_object_object_add(doc, "stream_listen",
                               json_object_get(json_object_object_get(sdoc, "stream_listen")));
        json_object_object_add(doc, "stream_listeners", json_object_get(sl));
    }
    for (size_t i = 0; i < n; i++) {
        unsigned port = kf_proxy_stream_port(*out, i);
        bool v6 = strchr(ls[i].host, ':') != NULL && ls[i].host[0] != '[';
        const char *proto = ls[i].udp ? "udp" : ls[i].ssl ? "tls" : "tcp";
        printf("stream listening on %s://%s%s%s:%u\n", proto, v6 ? "[" : "", ls[i].host,
               v6 ? "]" : "", port);
        kgc_info(LOG_COMPONENT, "stream listening", KGC_F_STR("host", ls[i].host),
                 KGC_F_INT("port", port), KGC_F_STR("protocol", proto));
        fix_port(json_object_array_get_idx(sl, i), port);
    }
    json_object_put(sdoc);
    fflush(stdout);
    free(ls);
    if (listeners_out) {
        const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
        *listeners_out = s ? strdup(s) : NULL;
    }
    json_object_put(doc);
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        O_LISTEN = 1000,
        O_LISTENERS,
        O_NO_LISTENERS,
        O_NODE_ID,
        O_VERSION,
        O_FLAVOR,
        O_PLUGINS,
        O_START_DELAY,
        O_NOT_READY,
        O_FAIL,
        O_FAIL_CODE,
        O_LATENCY,
        O_AUDIT,
        O_MAX_BODY,
        O_LOG_LEVEL,
        O_PROXY_LISTEN,
        O_DEBUG_HEADER,
        O_HELP,
        O_STREAM_LISTEN,
        O_STREAM_CERT,
        O_STREAM_IDLE,
        O_STREAM_MAX,
    };
    static const struct option longopts[] = {
        {"admin-listen", required_argument, NULL, O_LISTEN},
        {"listeners", required_argument, NULL, O_LISTENERS},
        {"no-listeners", no_argument, NULL, O_NO_LISTENERS},
        {"node-id", required_argument, NULL, O_NODE_ID},
        {"version", required_argument, NULL, O_VERSION},
        {"router-flavor", required_argument, NULL, O_FLAVOR},
        {"plugins", required_argument, NULL, O_PLUGINS},
        {"start-delay-ms", required_argument, NULL, O_START_DELAY},
        {"not-ready-ms", required_argument, NULL, O_NOT_READY},
        {"fail-config", required_argument, NULL, O_FAIL},
        {"fail-config-code", required_argument, NULL, O_FAIL_CODE},
        {"latency-ms", required_argument, NULL, O_LATENCY},
        {"audit", required_argument, NULL, O_AUDIT},
        {"max-body-mb", required_argument, NULL, O_MAX_BODY},
        {"log-level", required_argument, NULL, O_LOG_LEVEL},
        {"proxy-listen", required_argument, NULL, O_PROXY_LISTEN},
        {"allow-debug-header", no_argument, NULL, O_DEBUG_HEADER},
        {"help", no_argument, NULL, O_HELP},
        {"stream-listen", required_argument, NULL, O_STREAM_LISTEN},
        {"stream-backend-cert", required_argument, NULL, O_STREAM_CERT},
        {"stream-idle-ms", required_argument, NULL, O_STREAM_IDLE},
        {"stream-max-conns", required_argument, NULL, O_STREAM_MAX},
        {NULL, 0, NULL, 0},
    };
    /* A POST /config builds and frees a tree of small json-c blocks per entity; with glibc's
     * fastbins every later allocation of 1 KiB or more first consolidates all of them
     * (malloc_consolidate was 15 % of a 10k-route POST's CPU). Without fastbins the freed blocks
     * go to the per-thread cache or are merged as they are freed: ~20 % less CPU per POST. */
#ifdef M_MXFAST
    mallopt(M_MXFAST, 0);
#endif
    /* A POST /config runs on a libmicrohttpd connection thread, whose malloc arena is a
     * separate heap that glibc grows one page at a time, with an mprotect(2) per page: 27 % of a
     * 10k-route POST's CPU in sync_scale.sh (sysmalloc, grow_heap, mprotect, page faults). One
     * arena, grown by brk in 32 MiB steps, pays that once. (Under ASan, its allocator ignores
     * these.) */
#ifdef M_ARENA_MAX
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TOP_PAD, 32 << 20);
#endif
    kgc_log_setup(KGC_LOG_INFO, KGC_LOG_TEXT, 2);
    struct kf_server_options o;
    kf_server_options_init(&o);
    char host[256] = "127.0.0.1";
    unsigned long start_delay = 0, v = 0;
    char *listeners = NULL;
    char **plugins = NULL;
    const char *proxy_listen = NULL;
    bool debug_header = false;
    struct kf_proxy_options po = {0};
    struct kf_proxy *proxy = NULL;
    int rc = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case O_LISTEN: {
            const char *colon = strrchr(optarg, ':');
            if (!colon || !parse_uint(colon + 1, 65535, &v) ||
                (size_t)(colon - optarg) >= sizeof(host) || colon == optarg) {
                rc = bad("--admin-listen wants HOST:PORT", optarg);
                goto out;
            }
            const char *h = optarg;
            size_t hl = (size_t)(colon - optarg);
            if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
                h++;
                hl -= 2;
            }
            snprintf(host, sizeof(host), "%.*s", (int)hl, h);
            o.port = (unsigned)v;
            break;
        }
        case O_LISTENERS:
            free(listeners);
            listeners = read_file(optarg);
            if (!listeners) {
                rc = bad("--listeners: cannot read file", optarg);
                goto out;
            }
            break;
        case O_NO_LISTENERS:
            free(listeners);
            listeners = strdup("{\"proxy_listeners\":[],\"stream_listeners\":[]}");
            break;
        case O_NODE_ID:
            o.node_id = optarg;
            break;
        case O_VERSION:
            o.version = optarg;
            break;
        case O_FLAVOR:
            if (strcmp(optarg, "traditional") != 0 &&
                strcmp(optarg, "traditional_compatible") != 0 &&
                strcmp(optarg, "expressions") != 0) {
                rc = bad("--router-flavor: traditional|traditional_compatible|expressions", optarg);
                goto out;
            }
            o.router_flavor = optarg;
            break;
        case O_PLUGINS:
            free_list(plugins);
            plugins = split_list(optarg);
            o.plugins = (const char *const *)plugins;
            break;
        case O_START_DELAY:
            if (!parse_uint(optarg, 600000, &start_delay)) {
                rc = bad("--start-delay-ms wants 0..600000", optarg);
                goto out;
            }
            break;
        case O_NOT_READY:
            if (!parse_uint(optarg, UINT_MAX, &v)) {
                rc = bad("--not-ready-ms wants a number", optarg);
                goto out;
            }
            o.not_ready_ms = (unsigned)v;
            break;
        case O_FAIL:
            if (!parse_uint(optarg, 1000000, &v)) {
                rc = bad("--fail-config wants 0..1000000", optarg);
                goto out;
            }
            o.fail_config = (unsigned)v;
            break;
        case O_FAIL_CODE:
            if (!parse_uint(optarg, 999, &v) || (v != 400 && v != 429 && v != 503)) {
                rc = bad("--fail-config-code wants 400, 429 or 503", optarg);
                goto out;
            }
            o.fail_config_code = (unsigned)v;
            break;
        case O_LATENCY:
            if (!parse_uint(optarg, 600000, &v)) {
                rc = bad("--latency-ms wants 0..600000", optarg);
                goto out;
            }
            o.latency_ms = (unsigned)v;
            break;
        case O_AUDIT:
            o.audit_path = optarg;
            break;
        case O_MAX_BODY:
            if (!parse_uint(optarg, 4096, &v) || v == 0) {
                rc = bad("--max-body-mb wants 1..4096", optarg);
                goto out;
            }
            o.max_body = (size_t)v << 20;
            break;
        case O_LOG_LEVEL: {
            enum kgc_log_level level;
            if (kgc_log_level_parse(optarg, &level) != 0) {
                rc = bad("--log-level wants debug|info|warn|error", optarg);
                goto out;
            }
            kgc_log_setup(level, KGC_LOG_TEXT, 2);
            break;
        }
        case O_PROXY_LISTEN:
            proxy_listen = optarg;
            break;
        case O_DEBUG_HEADER:
            debug_header = true;
            break;
        case O_HELP:
            usage();
            goto out;
        case O_STREAM_LISTEN:
            po.stream_listen = optarg;
            break;
        case O_STREAM_CERT:
            po.stream_backend_cert = optarg;
            break;
        case O_STREAM_IDLE:
            if (!parse_uint(optarg, 600000, &v) || v < 100) {
                rc = bad("--stream-idle-ms wants 100..600000", optarg);
                goto out;
            }
            po.stream_idle_ms = (unsigned)v;
            break;
        case O_STREAM_MAX:
            if (!parse_uint(optarg, 10000, &v) || v == 0) {
                rc = bad("--stream-max-conns wants 1..10000", optarg);
                goto out;
            }
            po.stream_max_conns = (unsigned)v;
            break;
        default:
            rc = bad("unknown or incomplete option", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        rc = bad("unexpected argument", argv[optind]);
        goto out;
    }
    o.host = host;
    if (proxy_listen) {
        char perr[600];
        struct kf_listen *ls = NULL;
        size_t nls = 0;
        json_object *doc = NULL;
        if (kf_listen_parse(proxy_listen, &ls, &nls, &doc, perr, sizeof(perr)) != 0) {
            rc = bad(perr, proxy_listen);
            goto out;
        }
        free(ls);
        json_object_put(doc);
    }
    if (po.stream_listen) {
        char perr[600];
        struct kf_listen *ls = NULL;
        size_t nls = 0;
        if (kf_stream_listen_parse(po.stream_listen, &ls, &nls, NULL, perr, sizeof(perr)) != 0) {
            rc = bad(perr, po.stream_listen);
            goto out;
        }
        free(ls);
    }

    /* SIGTERM/SIGINT are taken by sigwait() here; every thread inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (start_delay && wait_signal(&set, (unsigned)start_delay)) {
        kgc_info(LOG_COMPONENT, "stopped before listening");
        goto out;
    }
    char err[512];
    po.proxy_listen = proxy_listen;
    po.debug_header = debug_header;
    if ((proxy_listen || po.stream_listen) &&
        (rc = start_proxy(&po, o.router_flavor, &proxy, listeners ? NULL : &listeners)) != 0) {
        goto out;
    }
    o.listeners_json = listeners;
    if (proxy) {
        o.on_config = on_config;
        o.on_config_arg = proxy;
    }
    struct kf_server *server = NULL;
    int src = kf_server_start(&o, &server, err, sizeof(err));
    if (src != 0) {
        kgc_error(LOG_COMPONENT, "cannot start", KGC_F_STR("error", err));
        rc = src == KGC_EINVAL ? 2 : 1;
        goto out;
    }
    bool v6 = strchr(host, ':') != NULL;
    printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "",
           kf_server_port(server));
    fflush(stdout);
    kgc_info(LOG_COMPONENT, "listening", KGC_F_STR("host", host),
             KGC_F_INT("port", kf_server_port(server)));
    wait_signal(&set, 0);
    kgc_info(LOG_COMPONENT, "stopping");
    kf_server_stop(server);
out:
    kf_proxy_stop(proxy);
    free(listeners);
    free_list(plugins);
    return rc;
}
