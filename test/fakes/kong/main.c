/* kgc-test-kong — the test Kong Admin API (DB-less). See README.md beside this file. */
#include "kong_fake.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
        "  --max-body-mb N           request bodies over N MiB get 413 (default 64)\n"
        "  --log-level L             debug | info | warn | error (default info)\n"
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
        O_HELP,
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
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    kgc_log_setup(KGC_LOG_INFO, KGC_LOG_TEXT, 2);
    struct kf_server_options o;
    kf_server_options_init(&o);
    char host[256] = "127.0.0.1";
    unsigned long start_delay = 0, v = 0;
    char *listeners = NULL;
    char **plugins = NULL;
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
        case O_HELP:
            usage();
            goto out;
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
    o.listeners_json = listeners;

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
    struct kf_server *server = NULL;
    char err[512];
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
    free(listeners);
    free_list(plugins);
    return rc;
}
