/* config — every kgc option, as a long flag and as a KGC_<NAME> environment variable.
 *
 * Rules: a flag wins over its environment variable, which wins over the default. `--name value`
 * and `--name=value` both work; a boolean takes `--name` or `--name=true|false` (also 1/0,
 * yes/no, on/off); a repeatable option collects every occurrence (its environment variable holds
 * a comma-separated list, and flags replace that list rather than extend it). Durations are Go
 * style: "1s", "200ms", "1m30s" ("0" alone is allowed). A bad value is a one-line error naming
 * the option (the caller exits 2).
 *
 * The option table (kgc_config_options) is the single source for --help and for
 * docs/configuration.md; adding an option is one table row and one struct field. */
#ifndef KGC_CONFIG_H
#define KGC_CONFIG_H

#include "kgc/err.h"
#include "kgc/log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A list of strings owned by the config. */
struct kgc_config_strlist {
    char **items;
    size_t len;
};

/* Every option's value. Strings and lists are owned by the struct (kgc_config_free). */
struct kgc_config {
    /* logging */
    enum kgc_log_level log_level;
    enum kgc_log_format log_format;

    /* work queues (every controller's queue uses these) */
    uint64_t queue_base_delay_ns; /* per-key backoff start */
    uint64_t queue_max_delay_ns;  /* per-key backoff cap */
    double queue_qps;             /* global retry token bucket rate (0 disables it) */
    long long queue_burst;        /* global retry token bucket size */

    /* Kubernetes API (kgc/k8s.h) */
    char *kubeconfig;          /* empty: in-cluster, else $KUBECONFIG */
    double apiserver_qps;      /* client-side request rate */
    long long apiserver_burst; /* client-side burst */
    uint64_t k8s_timeout_ns;   /* every non-watch call */
    long long watch_event_max_bytes;
    char *watch_namespace; /* empty: every namespace */

    /* Kong Admin API (kgc/kong.h, kgc/kongdiscovery.h) */
    struct kgc_config_strlist kong_admin_urls;
    char *kong_admin_service; /* NS/NAME whose EndpointSlices list the instances */
    char *kong_admin_port_name;
    char *kong_admin_ca_file;
    char *kong_admin_cert_file;
    char *kong_admin_key_file;
    bool kong_admin_tls_skip_verify;
    char *kong_admin_tls_server_name; /* SNI and verification name; empty: the URL's host */
    struct kgc_config_strlist kong_admin_headers; /* "K:V" */
    char *kong_admin_header_file;                 /* "Name: value" lines; empty: none */
    uint64_t kong_probe_interval_ns;
    uint64_t kong_probe_timeout_ns;
    uint64_t kong_down_probe_interval_ns;

    /* listener cache (kgc/listenercache.h) */
    char *listener_cache_dir; /* empty: disabled (restarts not covered) */
    long long listener_cache_max_mb;

    /* controllers (kgc/reconcile.h) */
    char *controller_name;
    long long gatewayclass_workers;
    long long gateway_workers;
    long long httproute_workers;
    long long grpcroute_workers;
    long long kongplugin_workers;
    long long backendtlspolicy_workers;
    long long listenerset_workers;
    long long tlsroute_workers;
    long long tcproute_workers;
    long long udproute_workers;
    char *publish_service;                       /* NS/NAME of the Kong proxy Service */
    struct kgc_config_strlist publish_addresses; /* override the Service's addresses */
    bool requeue_on_kong_ready;

    /* HTTP endpoints (kgc/server.h) */
    char *http_listen;  /* /healthz /readyz /metrics; empty: disabled */
    char *debug_listen; /* /debug/...; empty: disabled */
    char *probe_listen; /* /healthz /readyz alone, for the kubelet; empty: disabled */

    /* config sync (kgc/sync.h) */
    uint64_t sync_debounce_ns;       /* quiet time after a change before translating */
    uint64_t sync_max_delay_ns;      /* longest a change waits during a stream of changes */
    long long sync_push_concurrency; /* instances pushed to at once */
    bool sync_incremental;           /* keep per-route translations, translate what changed */
    char *invalid_backend_listen;    /* HOST:PORT of the 500 fallback endpoint; empty: off */
    char *invalid_backend_target; /* HOST:PORT Kong reaches it at (upstream target); empty: off */

    /* leader election (kgc/leader.h) */
    bool leader_elect;
    char *election_id;
    char *election_namespace; /* empty: the Kubernetes config's namespace */
    uint64_t election_lease_duration_ns;
    uint64_t election_renew_deadline_ns;
    uint64_t election_retry_period_ns;

    /* process */
    bool allow_core_dumps;          /* false: PR_SET_DUMPABLE 0 at start */
    uint64_t cache_sync_timeout_ns; /* start-up: longest wait for the first lists */
    uint64_t shutdown_timeout_ns;   /* SIGTERM: longest wait for keys in progress */
};

enum kgc_config_opt_type {
    KGC_CONFIG_OPT_STRING,
    KGC_CONFIG_OPT_INT,      /* long long, within [min, max] */
    KGC_CONFIG_OPT_DOUBLE,   /* double, within [min, max] */
    KGC_CONFIG_OPT_BOOL,     /* bool */
    KGC_CONFIG_OPT_DURATION, /* uint64_t nanoseconds, within [min, max] nanoseconds */
    KGC_CONFIG_OPT_LIST,     /* struct kgc_config_strlist, repeatable */
    KGC_CONFIG_OPT_LOGLEVEL, /* enum kgc_log_level */
    KGC_CONFIG_OPT_LOGFMT,   /* enum kgc_log_format */
};

/* One option: the row of the table. */
struct kgc_config_option {
    const char *name; /* long flag without "--", e.g. "log-level"; env is KGC_LOG_LEVEL */
    enum kgc_config_opt_type type;
    const char *def;  /* the default, as text (parsed like a user's value; NULL: empty) */
    const char *help; /* one sentence */
    size_t offset;    /* of the field in struct kgc_config */
    double min, max;  /* bounds for INT, DOUBLE, DURATION (nanoseconds); min == max: none */
};

/* The option table and its length. Static; never freed. */
const struct kgc_config_option *kgc_config_options(size_t *n);

/* Fills cfg with every default. Returns 0 or KGC_ENOMEM. */
int kgc_config_defaults(struct kgc_config *cfg);

/* What kgc_config_parse found besides options. */
enum kgc_config_action {
    KGC_CONFIG_RUN = 0, /* options parsed: run */
    KGC_CONFIG_HELP,    /* --help / -h was given */
    KGC_CONFIG_VERSION, /* --version was given */
};

/* Applies defaults, then env (KGC_<NAME> from envp, NULL-terminated; NULL: none), then argv
 * (argv[0] is the program name). On success returns 0 and sets *action. On a bad option or
 * value returns KGC_EUSAGE with err->msg naming the option, e.g.
 * "--queue-qps: \"fast\" is not a number". cfg must be freed with kgc_config_free either way. */
int kgc_config_parse(struct kgc_config *cfg, int argc, char *const argv[], char *const envp[],
                     enum kgc_config_action *action, struct kgc_err *err);

/* Frees what cfg owns and zeroes it. */
void kgc_config_free(struct kgc_config *cfg);

/* Writes the usage text: every option with its env name, default and help. */
void kgc_config_print_help(FILE *out, const char *progname);

/* The environment variable name of an option ("KGC_LOG_LEVEL") into buf. Returns buf. */
char *kgc_config_env_name(const char *option, char *buf, size_t size);

/* Parses a Go-style duration ("1m30s", "250ms", "0") into nanoseconds. Returns 0 or KGC_EINVAL. */
int kgc_config_parse_duration(const char *s, uint64_t *out_ns);

/* Formats ns as a Go-style duration ("1m30s", "250ms", "0s") into buf. Returns buf. */
char *kgc_config_format_duration(uint64_t ns, char *buf, size_t size);

#endif
