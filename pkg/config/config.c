#include "kgc/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(field) offsetof(struct kgc_config, field)
#define MS         1e6
#define S          1e9

/* The option table: the one place an option is declared. Keep it grouped by subsystem. */
static const struct kgc_config_option options[] = {
    {"log-level", KGC_CONFIG_OPT_LOGLEVEL, "info", "Minimum log level: debug, info, warn or error.",
     OFF(log_level)},
    {"log-format", KGC_CONFIG_OPT_LOGFMT, "text",
     "Log line format: text (logfmt key=value) or json (one object per line).", OFF(log_format)},

    {"queue-base-delay", KGC_CONFIG_OPT_DURATION, "5ms",
     "First retry delay of a failed key; doubles per failure (client-go's default).",
     OFF(queue_base_delay_ns), 0, 3600 * S},
    {"queue-max-delay", KGC_CONFIG_OPT_DURATION, "1000s", "Cap of a failed key's retry delay.",
     OFF(queue_max_delay_ns), 1 * MS, 24 * 3600 * S},
    {"queue-qps", KGC_CONFIG_OPT_DOUBLE, "10",
     "Overall retry rate limit of each work queue, in keys per second (0 disables it).",
     OFF(queue_qps), 0, 1e6},
    {"queue-burst", KGC_CONFIG_OPT_INT, "100",
     "Retries each work queue may make at once above queue-qps.", OFF(queue_burst), 1, 1e6},

    {"kubeconfig", KGC_CONFIG_OPT_STRING, "",
     "Kubeconfig file (current context). Empty: in-cluster service account, else $KUBECONFIG.",
     OFF(kubeconfig)},
    /* No client-side limit by default, as controller-runtime since v0.21 (its
     * pkg/client/config/config.go:101-105, "we can rely on API priority and fairness"; before:
     * 20/30). Kong's controller: 100/300 (kubernetes-ingress-controller
     * internal/cmd/rootcmd/config/cli.go:99-100); client-go: 5/10 (rest/config.go:48-49). The API
     * server protects itself: a service account's requests go to the "workload-low" priority
     * level, queued per user and fair-shared (k8s.io/apiserver
     * pkg/apis/flowcontrol/bootstrap/default.go:240-256, 404-405), and an overflow is answered
     * 429, which kgc retries with its queues' backoff. At 50/s the initial sync of 1k Gateways
     * and 10k routes spent ~220 s on its status writes (docs/benchmarks.md). */
    {"apiserver-qps", KGC_CONFIG_OPT_DOUBLE, "0",
     "Client-side limit on Kubernetes API requests per second; 0 (default) disables it: the API "
     "server's Priority and Fairness queues and fair-shares kgc's requests and answers 429 when "
     "overloaded, which kgc retries with backoff (controller-runtime also disables it; Kong's "
     "controller uses 100). At 50/s, 11k status writes at start-up took 220 s.",
     OFF(apiserver_qps), 0, 1e6},
    {"apiserver-burst", KGC_CONFIG_OPT_INT, "100",
     "Kubernetes API requests allowed at once above the qps (only with a non-zero apiserver-qps; "
     "Kong's controller uses 3 x its qps).",
     OFF(apiserver_burst), 1, 1e6},
    {"k8s-timeout", KGC_CONFIG_OPT_DURATION, "30s",
     "Time limit of every Kubernetes API call but watches.", OFF(k8s_timeout_ns), 100 * MS,
     3600 * S},
    {"watch-event-max-bytes", KGC_CONFIG_OPT_INT, "8388608",
     "Largest watch event accepted; a larger one is an error, not a crash.",
     OFF(watch_event_max_bytes), 4096, 1073741824.0},
    {"watch-namespace", KGC_CONFIG_OPT_STRING, "",
     "Watch namespaced kinds in this namespace only (empty: all).", OFF(watch_namespace)},

    {"kong-admin-url", KGC_CONFIG_OPT_LIST, "",
     "Kong Admin API URL (repeatable; env: comma-separated). Exclusive with kong-admin-service.",
     OFF(kong_admin_urls)},
    {"kong-admin-service", KGC_CONFIG_OPT_STRING, "",
     "NAMESPACE/NAME of the Kong admin Service whose EndpointSlices list the Kong instances.",
     OFF(kong_admin_service)},
    {"kong-admin-port-name", KGC_CONFIG_OPT_STRING, "admin",
     "EndpointSlice port name of the Admin API (with kong-admin-service).",
     OFF(kong_admin_port_name)},
    {"kong-admin-ca-file", KGC_CONFIG_OPT_STRING, "",
     "PEM CA bundle that verifies Kong's Admin API.", OFF(kong_admin_ca_file)},
    {"kong-admin-cert-file", KGC_CONFIG_OPT_STRING, "",
     "Client certificate (PEM) for mutual TLS to Kong.", OFF(kong_admin_cert_file)},
    {"kong-admin-key-file", KGC_CONFIG_OPT_STRING, "", "Private key (PEM) of kong-admin-cert-file.",
     OFF(kong_admin_key_file)},
    {"kong-admin-tls-skip-verify", KGC_CONFIG_OPT_BOOL, "false",
     "Do not verify the Admin API's certificate (testing only).", OFF(kong_admin_tls_skip_verify)},
    {"kong-admin-tls-server-name", KGC_CONFIG_OPT_STRING, "",
     "Name the Admin API's certificate is verified against and sent as SNI, instead of the URL's "
     "host (e.g. the admin Service's DNS name when instances are discovered by IP).",
     OFF(kong_admin_tls_server_name)},
    {"kong-admin-header", KGC_CONFIG_OPT_LIST, "",
     "Extra header for every Admin API call, as Name:Value (repeatable). Prefer "
     "kong-admin-header-file for a token: a flag is visible in the process list.",
     OFF(kong_admin_headers)},
    {"kong-admin-header-file", KGC_CONFIG_OPT_STRING, "",
     "File of extra Admin API headers, one \"Name: value\" a line (# comments), read at start, "
     "e.g. a mounted Secret holding \"Kong-Admin-Token: ...\".",
     OFF(kong_admin_header_file)},
    {"kong-probe-interval", KGC_CONFIG_OPT_DURATION, "1s",
     "How often a ready Kong instance is probed.", OFF(kong_probe_interval_ns), 10 * MS, 3600 * S},
    {"kong-probe-timeout", KGC_CONFIG_OPT_DURATION, "2s", "Time limit of each probe request.",
     OFF(kong_probe_timeout_ns), 10 * MS, 600 * S},
    {"kong-down-probe-interval", KGC_CONFIG_OPT_DURATION, "200ms",
     "How often an unreachable Kong instance is probed, so its return is seen at once.",
     OFF(kong_down_probe_interval_ns), 10 * MS, 3600 * S},

    {"listener-cache-dir", KGC_CONFIG_OPT_STRING, "/var/lib/kgc/listeners",
     "Directory of the LMDB cache of last-known Kong listeners (empty: no listener cache at all: "
     "only live listeners count, like Kong's own controller, and Gateways wait as Pending while "
     "no Kong instance answers).",
     OFF(listener_cache_dir)},
    {"listener-cache-max-mb", KGC_CONFIG_OPT_INT, "16", "Size cap of the listener cache, in MiB.",
     OFF(listener_cache_max_mb), 1, 65536},

    {"controller-name", KGC_CONFIG_OPT_STRING, "konghq.com/kgc-gateway-controller",
     "GatewayClass spec.controllerName that kgc owns.", OFF(controller_name)},
    {"gatewayclass-workers", KGC_CONFIG_OPT_INT, "1",
     "Worker threads of the GatewayClass controller.", OFF(gatewayclass_workers), 1, 256},
    {"gateway-workers", KGC_CONFIG_OPT_INT, "4", "Worker threads of the Gateway controller.",
     OFF(gateway_workers), 1, 256},
    {"httproute-workers", KGC_CONFIG_OPT_INT, "4", "Worker threads of the HTTPRoute controller.",
     OFF(httproute_workers), 1, 256},
    {"grpcroute-workers", KGC_CONFIG_OPT_INT, "2", "Worker threads of the GRPCRoute controller.",
     OFF(grpcroute_workers), 1, 256},
    {"kongplugin-workers", KGC_CONFIG_OPT_INT, "1",
     "Worker threads of the KongPlugin/KongClusterPlugin controller.", OFF(kongplugin_workers), 1,
     256},
    {"backendtlspolicy-workers", KGC_CONFIG_OPT_INT, "1",
     "Worker threads of the BackendTLSPolicy controller.", OFF(backendtlspolicy_workers), 1, 256},
    {"listenerset-workers", KGC_CONFIG_OPT_INT, "1",
     "Worker threads of the ListenerSet controller.", OFF(listenerset_workers), 1, 256},
    {"tlsroute-workers", KGC_CONFIG_OPT_INT, "1", "Worker threads of the TLSRoute controller.",
     OFF(tlsroute_workers), 1, 256},
    {"tcproute-workers", KGC_CONFIG_OPT_INT, "1", "Worker threads of the TCPRoute controller.",
     OFF(tcproute_workers), 1, 256},
    {"udproute-workers", KGC_CONFIG_OPT_INT, "1", "Worker threads of the UDPRoute controller.",
     OFF(udproute_workers), 1, 256},
    {"publish-service", KGC_CONFIG_OPT_STRING, "",
     "NAMESPACE/NAME of the Kong proxy Service: Gateway addresses and port → targetPort mapping.",
     OFF(publish_service)},
    {"publish-address", KGC_CONFIG_OPT_LIST, "",
     "Address to publish in Gateway status instead of the Service's (repeatable).",
     OFF(publish_addresses)},
    {"requeue-on-kong-ready", KGC_CONFIG_OPT_BOOL, "true",
     "Re-queue every Gateway when a Kong instance becomes ready, restarts or changes listeners, "
     "and when a pushed configuration programs them (false: backoff only, like Kong's own "
     "controller).",
     OFF(requeue_on_kong_ready)},

    {"http-listen", KGC_CONFIG_OPT_STRING, ":10254",
     "HOST:PORT (or :PORT for every interface) of /healthz, /readyz and /metrics (empty: "
     "disabled).",
     OFF(http_listen)},
    {"debug-listen", KGC_CONFIG_OPT_STRING, "127.0.0.1:10256",
     "HOST:PORT of the debug endpoints: /debug/cache, /debug/listeners, /debug/queue, "
     "/debug/config (empty: disabled; they show cluster objects, keep them private).",
     OFF(debug_listen)},
    {"probe-listen", KGC_CONFIG_OPT_STRING, "",
     "HOST:PORT of /healthz and /readyz alone, on connections of their own: point the kubelet's "
     "probes here so clients of --http-listen (or a flood of them) cannot starve them (empty: "
     "off; the chart uses :10253).",
     OFF(probe_listen)},

    {"sync-debounce", KGC_CONFIG_OPT_DURATION, "100ms",
     "Pace of bursts: a change that comes when nothing was translated for this long is "
     "translated and pushed at once; changes within this time of a translation are gathered into "
     "the next one, made this long after the last of them (at most --sync-max-delay after the "
     "first).",
     OFF(sync_debounce_ns), 0, 600 * S},
    {"sync-max-delay", KGC_CONFIG_OPT_DURATION, "1s",
     "Longest a change waits for its push while changes keep coming.", OFF(sync_max_delay_ns),
     1 * MS, 3600 * S},
    {"sync-push-concurrency", KGC_CONFIG_OPT_INT, "16",
     "Kong instances pushed to at once, one push each; a slow or silent instance delays no other. "
     "A push gives up when nothing moves for 5s while sending, or after 10s plus 2s per MiB of "
     "configuration.",
     OFF(sync_push_concurrency), 1, 1024},
    {"sync-incremental", KGC_CONFIG_OPT_BOOL, "true",
     "Translate only what a change touches (same bytes as a whole translation): at 10k routes "
     "a one-route change costs 15-100 ms of CPU instead of a whole translation (~0.3-1.5 s), "
     "for ~12 MiB more memory (every route's planning records, built once the routes were quiet "
     "for 2s after start-up). false: every change is translated whole.",
     OFF(sync_incremental)},
    {"invalid-backend-listen", KGC_CONFIG_OPT_STRING, "",
     "HOST:PORT where kgc answers every request with 500 (empty: off): the endpoint behind "
     "invalid-backend-target.",
     OFF(invalid_backend_listen)},
    {"invalid-backend-target", KGC_CONFIG_OPT_STRING, "",
     "HOST:PORT at which Kong reaches invalid-backend-listen (empty: off). When set, the share of "
     "a rule's traffic that would go to invalid backendRefs gets 500 through it, as the Gateway "
     "API requires; when empty that share goes to the rule's valid backends.",
     OFF(invalid_backend_target)},

    {"leader-elect", KGC_CONFIG_OPT_BOOL, "false",
     "Elect one leader among replicas on a coordination.k8s.io Lease; only it writes status and "
     "pushes configuration (the Helm chart turns this on).",
     OFF(leader_elect)},
    {"election-id", KGC_CONFIG_OPT_STRING, "kgc-leader",
     "Name of the Lease used for leader election.", OFF(election_id)},
    {"election-namespace", KGC_CONFIG_OPT_STRING, "",
     "Namespace of the Lease (empty: the pod's namespace, else the kubeconfig context's).",
     OFF(election_namespace)},
    {"election-lease-duration", KGC_CONFIG_OPT_DURATION, "15s",
     "How long a standby waits for a silent leader before taking over.",
     OFF(election_lease_duration_ns), 1 * S, 3600 * S},
    {"election-renew-deadline", KGC_CONFIG_OPT_DURATION, "10s",
     "A leader that cannot renew for this long stops writing at once.",
     OFF(election_renew_deadline_ns), 500 * MS, 3600 * S},
    {"election-retry-period", KGC_CONFIG_OPT_DURATION, "2s",
     "Time between election attempts and renewals.", OFF(election_retry_period_ns), 100 * MS,
     600 * S},

    {"allow-core-dumps", KGC_CONFIG_OPT_BOOL, "false",
     "Leave the process dumpable (core files, ptrace by the same user) for debugging. By default "
     "kgc sets PR_SET_DUMPABLE to 0 at start, so TLS private keys and tokens in its memory never "
     "reach a core file.",
     OFF(allow_core_dumps)},
    {"cache-sync-timeout", KGC_CONFIG_OPT_DURATION, "2m",
     "Longest wait at start-up for every informer's first list; past it kgc exits 1.",
     OFF(cache_sync_timeout_ns), 1 * S, 3600 * S},
    {"shutdown-timeout", KGC_CONFIG_OPT_DURATION, "10s",
     "On SIGTERM, longest wait for keys in progress before the process exits.",
     OFF(shutdown_timeout_ns), 0, 3600 * S},
};

const struct kgc_config_option *kgc_config_options(size_t *n)
{
    *n = sizeof(options) / sizeof(options[0]);
    return options;
}

char *kgc_config_env_name(const char *option, char *buf, size_t size)
{
    size_t j = 0;
    const char prefix[] = "KGC_";
    for (size_t i = 0; prefix[i] && j + 1 < size; i++)
        buf[j++] = prefix[i];
    for (const char *p = option; *p && j + 1 < size; p++)
        buf[j++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[j] = '\0';
    return buf;
}

/* --- durations -------------------------------------------------------------------------------- */

int kgc_config_parse_duration(const char *s, uint64_t *out_ns)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    if (!s || !*s)
        return KGC_EINVAL;
    if (strcmp(s, "0") == 0) {
        *out_ns = 0;
        return 0;
    }
    double total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return KGC_EINVAL;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || v < 0)
            return KGC_EINVAL;
        p = end;
        size_t best = 0;
        double mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t ul = strlen(units[i].unit);
            /* longest match wins: "ms" before "m" */
            if (strncmp(p, units[i].unit, ul) == 0 && ul > best) {
                best = ul;
                mult = units[i].ns;
            }
        }
        if (best == 0)
            return KGC_EINVAL; /* a number without a unit */
        total += v * mult;
        p += best;
    }
    if (total > 1.8e19)
        return KGC_ERANGE;
    *out_ns = (uint64_t)llround(total);
    return 0;
}

char *kgc_config_format_duration(uint64_t ns, char *buf, size_t size)
{
    if (ns == 0)
        snprintf(buf, size, "0s");
    else if (ns % 1000000000ULL == 0) {
        uint64_t s = ns / 1000000000ULL;
        if (s >= 3600 && s % 3600 == 0)
            snprintf(buf, size, "%lluh", (unsigned long long)(s / 3600));
        else if (s >= 60 && s % 60 == 0)
            snprintf(buf, size, "%llum", (unsigned long long)(s / 60));
        else if (s >= 60)
            snprintf(buf, size, "%llum%llus", (unsigned long long)(s / 60),
                     (unsigned long long)(s % 60));
        else
            snprintf(buf, size, "%llus", (unsigned long long)s);
    } else if (ns % 1000000ULL == 0)
        snprintf(buf, size, "%llums", (unsigned long long)(ns / 1000000ULL));
    else if (ns % 1000ULL == 0)
        snprintf(buf, size, "%lluus", (unsigned long long)(ns / 1000ULL));
    else
        snprintf(buf, size, "%lluns", (unsigned long long)ns);
    return buf;
}

/* --- values ----------------------------------------------------------------------------------- */

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return KGC_EINVAL;
}

static bool out_of_bounds(const struct kgc_config_option *o, double v)
{
    return o->min != o->max && (v < o->min || v > o->max);
}

static void list_clear(struct kgc_config_strlist *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

static int list_append(struct kgc_config_strlist *l, const char *v, size_t n)
{
    char **items = realloc(l->items, (l->len + 1) * sizeof(*items));
    if (!items)
        return KGC_ENOMEM;
    l->items = items;
    l->items[l->len] = strndup(v, n);
    if (!l->items[l->len])
        return KGC_ENOMEM;
    l->len++;
    return 0;
}

/* Sets option o from text v. `from` names the source for messages ("--x" or "KGC_X"). For lists,
 * `append` adds v as one item; otherwise v is a comma-separated list that replaces the value. */
static int set_value(struct kgc_config *cfg, const struct kgc_config_option *o, const char *v,
                     const char *from, bool append, struct kgc_err *err)
{
    void *field = (char *)cfg + o->offset;
    char *end;
    char buf[64];
    switch (o->type) {
    case KGC_CONFIG_OPT_STRING: {
        char *copy = strdup(v);
        if (!copy)
            return kgc_err_set(err, KGC_ENOMEM, "%s: out of memory", from);
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case KGC_CONFIG_OPT_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno)
            return kgc_err_set(err, KGC_EUSAGE, "%s: \"%s\" is not an integer", from, v);
        if (out_of_bounds(o, (double)x))
            return kgc_err_set(err, KGC_EUSAGE, "%s: %lld is out of range [%.0f, %.0f]", from, x,
                               o->min, o->max);
        *(long long *)field = x;
        return 0;
    }
    case KGC_CONFIG_OPT_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || isnan(x))
            return kgc_err_set(err, KGC_EUSAGE, "%s: \"%s\" is not a number", from, v);
        if (out_of_bounds(o, x))
            return kgc_err_set(err, KGC_EUSAGE, "%s: %g is out of range [%g, %g]", from, x, o->min,
                               o->max);
        *(double *)field = x;
        return 0;
    }
    case KGC_CONFIG_OPT_BOOL:
        if (parse_bool(v, (bool *)field) != 0)
            return kgc_err_set(err, KGC_EUSAGE, "%s: \"%s\" is not a boolean (true or false)", from,
                               v);
        return 0;
    case KGC_CONFIG_OPT_DURATION: {
        uint64_t ns;
        if (kgc_config_parse_duration(v, &ns) != 0)
            return kgc_err_set(err, KGC_EUSAGE,
                               "%s: \"%s\" is not a duration (examples: 250ms, 1s, 1m30s)", from,
                               v);
        if (out_of_bounds(o, (double)ns)) {
            char lo[32], hi[32];
            kgc_config_format_duration((uint64_t)o->min, lo, sizeof(lo));
            kgc_config_format_duration((uint64_t)o->max, hi, sizeof(hi));
            return kgc_err_set(err, KGC_EUSAGE, "%s: %s is out of range [%s, %s]", from, v, lo, hi);
        }
        *(uint64_t *)field = ns;
        return 0;
    }
    case KGC_CONFIG_OPT_LIST: {
        struct kgc_config_strlist *l = field;
        if (append)
            return list_append(l, v, strlen(v)) ? kgc_err_set(err, KGC_ENOMEM, "out of memory") : 0;
        list_clear(l);
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, ",");
            if (n > 0 && list_append(l, p, n) != 0)
                return kgc_err_set(err, KGC_ENOMEM, "out of memory");
            p += n;
            if (*p == ',')
                p++;
        }
        return 0;
    }
    case KGC_CONFIG_OPT_LOGLEVEL:
        if (kgc_log_level_parse(v, (enum kgc_log_level *)field) != 0)
            return kgc_err_set(err, KGC_EUSAGE,
                               "%s: \"%s\" is not a log level (debug, info, warn, error)", from, v);
        return 0;
    case KGC_CONFIG_OPT_LOGFMT:
        if (kgc_log_format_parse(v, (enum kgc_log_format *)field) != 0)
            return kgc_err_set(err, KGC_EUSAGE, "%s: \"%s\" is not a log format (text, json)", from,
                               v);
        return 0;
    }
    (void)buf;
    return kgc_err_set(err, KGC_EINVAL, "%s: unknown option type", from);
}

int kgc_config_defaults(struct kgc_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    struct kgc_err err;
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (!options[i].def)
            continue;
        int rc = set_value(cfg, &options[i], options[i].def, options[i].name, false, &err);
        if (rc)
            return rc; /* a bad default is a programming error; the unit tests catch it */
    }
    return 0;
}

static const struct kgc_config_option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

int kgc_config_parse(struct kgc_config *cfg, int argc, char *const argv[], char *const envp[],
                     enum kgc_config_action *action, struct kgc_err *err)
{
    *action = KGC_CONFIG_RUN;
    int rc = kgc_config_defaults(cfg);
    if (rc)
        return kgc_err_set(err, rc, "out of memory");

    /* Environment first, so flags override it. */
    for (size_t i = 0; envp && envp[i]; i++) {
        if (strncmp(envp[i], "KGC_", 4) != 0)
            continue;
        const char *eq = strchr(envp[i], '=');
        if (!eq)
            continue;
        for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
            char env[128];
            kgc_config_env_name(options[k].name, env, sizeof(env));
            if (strlen(env) == (size_t)(eq - envp[i]) && strncmp(env, envp[i], eq - envp[i]) == 0) {
                rc = set_value(cfg, &options[k], eq + 1, env, false, err);
                if (rc)
                    return rc == KGC_ENOMEM ? rc : KGC_EUSAGE;
            }
        }
    }

    /* Repeatable options given as flags replace what env or defaults put there. */
    bool list_seen[sizeof(options) / sizeof(options[0])] = {false};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *action = KGC_CONFIG_HELP;
            return 0;
        }
        if (strcmp(arg, "--version") == 0) {
            *action = KGC_CONFIG_VERSION;
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return kgc_err_set(err, KGC_EUSAGE,
                               "unexpected argument \"%s\" (options are --name value)", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct kgc_config_option *o = find_option(name, nlen);
        if (!o)
            return kgc_err_set(err, KGC_EUSAGE, "unknown option --%.*s (see --help)", (int)nlen,
                               name);
        char from[96];
        snprintf(from, sizeof(from), "--%s", o->name);
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (o->type == KGC_CONFIG_OPT_BOOL) {
            value = "true"; /* `--flag` alone; a following word is never its value */
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return kgc_err_set(err, KGC_EUSAGE, "%s: missing value", from);
        }
        bool append = false;
        if (o->type == KGC_CONFIG_OPT_LIST) {
            size_t idx = (size_t)(o - options);
            if (!list_seen[idx]) {
                list_clear((struct kgc_config_strlist *)((char *)cfg + o->offset));
                list_seen[idx] = true;
            }
            append = true;
        }
        rc = set_value(cfg, o, value, from, append, err);
        if (rc)
            return rc == KGC_ENOMEM ? rc : KGC_EUSAGE;
    }
    return 0;
}

void kgc_config_free(struct kgc_config *cfg)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        void *field = (char *)cfg + options[i].offset;
        if (options[i].type == KGC_CONFIG_OPT_STRING) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (options[i].type == KGC_CONFIG_OPT_LIST) {
            list_clear(field);
        }
    }
    memset(cfg, 0, sizeof(*cfg));
}

static const char *type_hint(enum kgc_config_opt_type t)
{
    switch (t) {
    case KGC_CONFIG_OPT_STRING:
        return "string";
    case KGC_CONFIG_OPT_INT:
        return "int";
    case KGC_CONFIG_OPT_DOUBLE:
        return "number";
    case KGC_CONFIG_OPT_BOOL:
        return "";
    case KGC_CONFIG_OPT_DURATION:
        return "duration";
    case KGC_CONFIG_OPT_LIST:
        return "value (repeatable)";
    case KGC_CONFIG_OPT_LOGLEVEL:
        return "level";
    case KGC_CONFIG_OPT_LOGFMT:
        return "format";
    }
    return "value";
}

void kgc_config_print_help(FILE *out, const char *progname)
{
    fprintf(out,
            "Usage: %s [options]\n\n"
            "kgc is a Kubernetes Gateway API controller for Kong Gateway.\n"
            "Every option can also be set by its environment variable; a flag wins.\n\n"
            "Options:\n",
            progname);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const struct kgc_config_option *o = &options[i];
        char env[128];
        kgc_config_env_name(o->name, env, sizeof(env));
        const char *hint = type_hint(o->type);
        fprintf(out, "  --%s%s%s\n", o->name, *hint ? " " : "", hint);
        fprintf(out, "        %s\n        env %s, default %s%s%s\n", o->help, env,
                o->def && *o->def ? "\"" : "", o->def && *o->def ? o->def : "(none)",
                o->def && *o->def ? "\"" : "");
    }
    fprintf(out, "  --help\n        Print this text and exit.\n"
                 "  --version\n        Print the version and exit.\n");
}
