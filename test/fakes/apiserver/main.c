/* kgc-test-apiserver — a Kubernetes API server for tests, driven by real kubectl. */
#include "server.h"

#include "kgc/err.h"
#include "kgc/log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_PEM_SIZE (1024 * 1024)

static const char usage[] =
    "usage: kgc-test-apiserver [options]\n"
    "\n"
    "A Kubernetes API server for tests: built-in kinds (Namespace, Service, Secret, ConfigMap,\n"
    "Deployment, EndpointSlice, Lease, CustomResourceDefinition) and custom resources defined by\n"
    "creating CRDs, with discovery, OpenAPI v3, list/watch, patches, finalizers and /status.\n"
    "\n"
    "Options:\n"
    "  --listen HOST:PORT   address to serve on (default 127.0.0.1:0; port 0 picks a free port);\n"
    "                       prints 'listening on http(s)://HOST:PORT' on stdout once ready\n"
    "  --tls-cert FILE      serve HTTPS with this PEM certificate (needs --tls-key)\n"
    "  --tls-key FILE       the PEM private key for --tls-cert\n"
    "  --token TOKEN        require 'Authorization: Bearer TOKEN' (401 Status otherwise);\n"
    "                       kubectl only sends tokens over HTTPS\n"
    "  --history N          watch events kept for resuming watches (default 10000); a watch from\n"
    "                       an older resourceVersion gets an ERROR Expired event\n"
    "  --audit FILE         append one JSON line per write: time, verb, path, subresource, code,\n"
    "                       status (the object's .status after the write, else the body's)\n"
    "  --bookmark-ms MS     idle time before a watch sends a BOOKMARK (default 1000)\n"
    "  --namespace-cleanup-ms MS\n"
    "                       delay before a deleted namespace's contents are deleted (each with\n"
    "                       its DELETED event) and then the namespace (default 500; 0: at once,\n"
    "                       inside the DELETE request)\n"
    "  --log-level LEVEL    debug, info, warn or error (default info); logs go to stderr\n"
    "  --log-format FORMAT  text or json (default text)\n"
    "  --help               this text\n"
    "\n"
    "Test endpoints (never Kubernetes paths; they need the token too when --token is set):\n"
    "  POST /_test/close-watches   end every open watch stream now (clients watch again)\n"
    "  POST /_test/drop-history    forget the event history: every resourceVersion issued so far\n"
    "                              is too old (watch resumes get ERROR Expired, continue 410)\n"
    "  POST /_test/fail?prefix=P&code=C[&count=N][&every=K][&verb=V]\n"
    "                              answer requests whose path starts with P with a Status of code\n"
    "                              C (409, 429, 500, 503, ...): the next N (default 1), or every\n"
    "                              Kth matching request (N failures, default unlimited); V limits\n"
    "                              it to one verb (get list watch create update patch delete\n"
    "                              deletecollection)\n"
    "  POST /_test/latency?prefix=P&ms=MS[&verb=V]\n"
    "                              delay matching requests by MS milliseconds (0 removes)\n"
    "  POST /_test/reset-faults    remove every fail and latency rule\n"
    "  POST /_test/inject-event?resource=PLURAL[&group=G]\n"
    "                              send the request body, byte for byte, on every open watch of\n"
    "                              that resource (a malformed event; end it with a newline)\n"
    "  GET  /_test/stats           {\"resourceVersion\":..., \"objects\":..., \"watches\":...}\n"
    "\n"
    "SIGTERM or SIGINT stops the server cleanly (exit 0). Bad options exit 2.\n";

static void die_usage(const char *fmt, const char *arg) __attribute__((noreturn));

static void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "kgc-test-apiserver: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    exit(2);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(MAX_PEM_SIZE + 1);
    size_t n = buf ? fread(buf, 1, MAX_PEM_SIZE, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    return buf;
}

static long parse_long(const char *s, const char *what, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || v < min || v > max)
        die_usage(what, s);
    return v;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                             {"tls-cert", required_argument, NULL, 'c'},
                                             {"tls-key", required_argument, NULL, 'k'},
                                             {"token", required_argument, NULL, 't'},
                                             {"history", required_argument, NULL, 'H'},
                                             {"audit", required_argument, NULL, 'a'},
                                             {"bookmark-ms", required_argument, NULL, 'b'},
                                             {"log-level", required_argument, NULL, 'L'},
                                             {"log-format", required_argument, NULL, 'F'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *listen = "127.0.0.1:0", *cert_path = NULL, *key_path = NULL;
    enum kgc_log_level level = KGC_LOG_INFO;
    enum kgc_log_format format = KGC_LOG_TEXT;
    struct fas_server_opts so = {.namespace_cleanup_ms = -1};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char *val = optarg ? optarg : "";
        switch (opt) {
        case 'l':
            listen = val;
            break;
        case 'c':
            cert_path = val;
            break;
        case 'k':
            key_path = val;
            break;
        case 't':
            so.token = val;
            break;
        case 'H':
            so.history = (size_t)parse_long(val, "bad --history %s", 1, 100000000);
            break;
        case 'a':
            so.audit_path = val;
            break;
        case 'b':
            so.bookmark_ms = (unsigned)parse_long(val, "bad --bookmark-ms %s", 10, 3600000);
            break;
        case 'n':
            so.namespace_cleanup_ms =
                (int)parse_long(val, "bad --namespace-cleanup-ms %s", 0, 600000);
            break;
        case 'L':
            if (kgc_log_level_parse(val, &level))
                die_usage("bad --log-level %s", val);
            break;
        case 'F':
            if (kgc_log_format_parse(val, &format))
                die_usage("bad --log-format %s", val);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            die_usage("unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument %s", argv[optind]);
    if (!!cert_path != !!key_path)
        die_usage("%s", "--tls-cert and --tls-key go together");
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof(host))
        die_usage("bad --listen %s (want HOST:PORT)", listen);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    so.host = host;
    so.port = (int)parse_long(colon + 1, "bad --listen port %s", 0, 65535);

    kgc_log_setup(level, format, 2);
    char *cert = NULL, *key = NULL;
    if (cert_path) {
        cert = read_file(cert_path);
        key = read_file(key_path);
        if (!cert || !key) {
            free(cert);
            free(key);
            die_usage("cannot read the TLS certificate or key (%s)", cert_path);
        }
        so.tls_cert = cert;
        so.tls_key = key;
    }
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct kgc_err err = {0};
    struct fas_server *srv = NULL;
    if (fas_server_start(&so, &srv, &err)) {
        kgc_error("apiserver", "cannot start", KGC_F_STR("error", err.msg));
        free(cert);
        free(key);
        return 1;
    }
    printf("listening on %s://%s%s%s:%d\n", cert ? "https" : "http", strchr(host, ':') ? "[" : "",
           host, strchr(host, ':') ? "]" : "", fas_server_port(srv));
    fflush(stdout);
    kgc_info("apiserver", "serving", KGC_F_INT("port", fas_server_port(srv)),
             KGC_F_BOOL("tls", cert != NULL), KGC_F_BOOL("token", so.token != NULL));
    int sig = 0;
    sigwait(&stop, &sig);
    kgc_info("apiserver", "stopping", KGC_F_INT("signal", sig));
    fas_server_stop(srv);
    free(cert);
    free(key);
    return 0;
}
