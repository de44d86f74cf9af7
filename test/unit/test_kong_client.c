/* kong client: the calls against the test Kong (in-process, a free port): root, status, the
 * push outcomes (applied, unchanged, rejected with flattened errors, rejected as a whole, busy);
 * the pushed text arriving byte-exact (multipart/form-data), also at 20 MB; 413; a 201 over the
 * reply cap;
 * Kong-side faults (connection refused, timeouts, garbage, non-200, bodies over the cap, an
 * aborted call); extra headers; TLS (CA file, skip-verify, client certificate) against an HTTPS
 * peer whose certificates the test makes with libcrypto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/kong_fake.h"

#include "kgc/clock.h"
#include "kgc/kong.h"
#include "kgc/log.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const char *VALID =
    "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s1\",\"host\":\"example.com\","
    "\"port\":80,\"routes\":[{\"name\":\"r1\",\"paths\":[\"/\"]}]}]}";
static const char *BAD_PORT =
    "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s1\",\"host\":\"example.com\","
    "\"port\":70000,\"tags\":[\"k8s-name:r\"]}]}";
static const char *BAD_REF = "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r1\","
                             "\"paths\":[\"/\"],\"service\":\"nope\"}]}";

static struct kf_server *start_fake(struct kf_server_options *o)
{
    struct kf_server *s = NULL;
    char err[256] = "";
    if (kf_server_start(o, &s, err, sizeof(err)) != 0)
        fail_msg("test kong: %s", err);
    return s;
}

static struct kgc_kong_client *client_for(unsigned port, const struct kgc_kong_client_options *o)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    struct kgc_kong_client *c = NULL;
    struct kgc_err err = {0};
    if (kgc_kong_client_new(url, o, &c, &err) != 0)
        fail_msg("client: %s", err.msg);
    return c;
}

static void test_calls_against_test_kong(void **state)
{
    (void)state;
    struct kf_server_options fo;
    kf_server_options_init(&fo);
    fo.node_id = "11111111-2222-4333-8444-555555555555";
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client *c = client_for(kf_server_port(s), NULL);
    struct kgc_err err = {0};

    struct kgc_kong_info info;
    long status = 0;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(info.version, "3.9.1");
    assert_string_equal(info.node_id, fo.node_id);
    assert_string_equal(info.router_flavor, "traditional_compatible");
    assert_string_equal(info.database, "off");
    assert_int_equal(info.listeners.n_proxy, 2);
    assert_int_equal(info.listeners.proxy[1].port, 8443);
    assert_true(info.listeners.proxy[1].ssl);
    assert_int_equal(info.listeners.n_stream, 1);
    kgc_kong_info_free(&info);

    char hash[33];
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, &err), 0);
    assert_true(kgc_kong_hash_is_empty(hash));

    struct kgc_kong_push_result r;
    uint64_t before_push = kgc_clock_now(NULL);
    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    /* when the text's last byte left: after the call began, before it returned */
    assert_true(r.sent_ns >= before_push && r.sent_ns <= kgc_clock_now(NULL));
    assert_int_equal(r.http_status, 201);
    char want[33];
    kgc_kong_config_hash(VALID, strlen(VALID), want);
    assert_string_equal(r.hash, want);
    kgc_kong_push_result_free(&r);
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, &err), 0);
    assert_string_equal(hash, want); /* Kong's hash is the MD5 of the string we sent */

    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_UNCHANGED);
    kgc_kong_push_result_free(&r);

    assert_int_equal(kgc_kong_push_config(c, BAD_PORT, strlen(BAD_PORT), &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_REJECTED);
    assert_true(r.n_entity_errors >= 1);
    assert_string_equal(r.entity_errors[0].entity_type, "service");
    assert_string_equal(r.entity_errors[0].entity_name, "s1");
    assert_int_equal(r.entity_errors[0].n_tags, 1);
    assert_string_equal(r.entity_errors[0].entity_tags[0], "k8s-name:r");
    assert_string_equal(r.entity_errors[0].errors[0].field, "port");
    assert_non_null(strstr(r.entity_errors[0].errors[0].message, "between 0 and 65535"));
    kgc_kong_push_result_free(&r);

    assert_int_equal(kgc_kong_push_config(c, BAD_REF, strlen(BAD_REF), &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_REJECTED);
    assert_int_equal(r.n_entity_errors, 0); /* Kong's quirk: rejected as a whole */
    assert_non_null(strstr(r.message, "declarative config is invalid"));
    kgc_kong_push_result_free(&r);

    /* A rejected push changed nothing. */
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, &err), 0);
    assert_string_equal(hash, want);
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

/* The pushed text reaches Kong byte-exact (multipart/form-data, streamed from the caller's
 * buffer): Kong's hash of what it received is the MD5 of what was pushed, for text with quotes,
 * backslashes, CR/LF, tabs, UTF-8, boundary-like lines, and for a 20 MB configuration. */
static void push_and_check(struct kgc_kong_client *c, const char *text, size_t len)
{
    struct kgc_err err = {0};
    struct kgc_kong_push_result r;
    char want[33], hash[33];
    kgc_kong_config_hash(text, len, want);
    assert_int_equal(kgc_kong_push_config(c, text, len, &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    kgc_kong_push_result_free(&r);
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, &err), 0);
    assert_string_equal(hash, want);
    assert_int_equal(kgc_kong_push_config(c, text, len, &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_UNCHANGED);
    assert_string_equal(r.hash, want);
    kgc_kong_push_result_free(&r);
}

static void test_push_byte_exact(void **state)
{
    (void)state;
    struct kf_server_options fo;
    kf_server_options_init(&fo);
    /* The 20 MB push below is over Kong's default admin body limit (10m,
     * kong/templates/kong_defaults.lua:114): a Kong that takes it runs with
     * nginx_admin_client_max_body_size = 32m. */
    fo.max_body = (size_t)32 << 20;
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client *c = client_for(kf_server_port(s), NULL);

    static const char yaml[] =
        "# \"quoted\" 'single' back\\slash caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\r\n"
        "#\t--\r\n--- # ------------------------0123456789abcdef\r\n"
        "_format_version: \"3.0\"\r\n"
        "_comment: \"\\\"x\\\" \\\\ \\n \\t \\u00e9 \xc3\xa9\"\n"
        "services:\n- name: s\xc3\xa9\n  host: example.com\n";
    push_and_check(c, yaml, sizeof(yaml) - 1);
    static const char json[] =
        "{\n\t\"_format_version\": \"3.0\",\r\n\t\"_comment\": "
        "\"\\\"\\\\/\\b\\f\\u0001 \xe2\x82\xac\",\n"
        "\t\"services\": [{\"name\": \"j\", \"host\": \"example.com\"}]\n}\n";
    push_and_check(c, json, sizeof(json) - 1);

    size_t cap = (size_t)20 << 20;
    char *big = malloc(cap);
    assert_non_null(big);
    static const char head[] = "{\"_format_version\":\"3.0\",\"_comment\":\"";
    static const char tail[] = "\",\"services\":[{\"name\":\"big\",\"host\":\"example.com\"}]}\n";
    static const char unit[] = "\\\"\xc3\xa9\\r\\n--\\\\\xf0\x9f\x98\x80 ";
    memcpy(big, head, sizeof(head) - 1);
    size_t len = sizeof(head) - 1;
    while (len + sizeof(unit) - 1 + sizeof(tail) - 1 <= cap) {
        memcpy(big + len, unit, sizeof(unit) - 1);
        len += sizeof(unit) - 1;
    }
    memcpy(big + len, tail, sizeof(tail) - 1);
    len += sizeof(tail) - 1;
    assert_true(len > (size_t)19 << 20);
    push_and_check(c, big, len);
    free(big);
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

/* A configuration over Kong's body cap is Kong's answer (413), not a transport failure. */
static void test_push_too_large(void **state)
{
    (void)state;
    struct kf_server_options fo;
    kf_server_options_init(&fo);
    fo.max_body = (size_t)1 << 20;
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client *c = client_for(kf_server_port(s), NULL);
    size_t len = (size_t)2 << 20;
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, ' ', len);
    struct kgc_kong_push_result r;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_push_config(c, text, len, &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_OTHER);
    assert_int_equal(r.http_status, 413);
    kgc_kong_push_result_free(&r);
    /* the client still works after the cut-short upload */
    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    kgc_kong_push_result_free(&r);
    free(text);
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

/* Kong's 201 lists every entity it loaded: at 10k routes far over the reply cap. The client
 * drops a successful push's answer unread, so a big configuration is still APPLIED. */
static void test_push_big_answer(void **state)
{
    (void)state;
    struct kf_server_options fo;
    kf_server_options_init(&fo);
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.max_reply_body = 1024;
    struct kgc_kong_client *c = client_for(kf_server_port(s), &co);
    char text[16384];
    size_t n = (size_t)snprintf(text, sizeof(text), "{\"_format_version\":\"3.0\",\"services\":[");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s{\"name\":\"s%d\",\"host\":\"h%d\"}",
                              i ? "," : "", i, i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "]}");
    assert_true(n < sizeof(text) - 1);
    struct kgc_kong_push_result r;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_push_config(c, text, n, &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    kgc_kong_push_result_free(&r);
    char want[33], hash[33];
    kgc_kong_config_hash(text, n, want);
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, &err), 0);
    assert_string_equal(hash, want);
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

static void test_busy_answers(void **state)
{
    (void)state;
    struct kf_server_options fo;
    kf_server_options_init(&fo);
    fo.fail_config = 1;
    fo.fail_config_code = 429;
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client *c = client_for(kf_server_port(s), NULL);
    struct kgc_kong_push_result r;
    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_BUSY);
    assert_int_equal(r.http_status, 429);
    assert_int_equal(r.retry_after_s, 1);
    kgc_kong_push_result_free(&r);
    kgc_kong_client_free(c);
    kf_server_stop(s);

    fo.fail_config_code = 503;
    s = start_fake(&fo);
    c = client_for(kf_server_port(s), NULL);
    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_BUSY);
    assert_int_equal(r.http_status, 503);
    assert_non_null(strstr(r.message, "exiting"));
    kgc_kong_push_result_free(&r);
    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    kgc_kong_push_result_free(&r);
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

static void test_empty_listeners_from_test_kong(void **state)
{
    (void)state;
    struct kf_server_options fo;
    kf_server_options_init(&fo);
    fo.listeners_json = "{\"proxy_listeners\":[],\"stream_listeners\":[]}";
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client *c = client_for(kf_server_port(s), NULL);
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_client_get_root(c, &info, NULL, &err), 0);
    assert_int_equal(info.listeners.n_proxy, 0);
    assert_int_equal(info.listeners.n_stream, 0);
    kgc_kong_info_free(&info);
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

/* A port nobody listens on: bind, read the port, close. */
static unsigned closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_refused_and_timeout(void **state)
{
    (void)state;
    struct kgc_kong_client *c = client_for(closed_port(), NULL);
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    long status = -1;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), KGC_ECONNECT);
    assert_int_equal(status, 0);
    assert_non_null(strstr(err.msg, "GET / on http://127.0.0.1:"));
    struct kgc_kong_push_result r;
    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, &err), KGC_ECONNECT);
    assert_int_equal(r.kind, 0);
    assert_null(r.message);
    kgc_kong_client_free(c);

    struct kf_server_options fo;
    kf_server_options_init(&fo);
    fo.latency_ms = 1200;
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.request_timeout_ms = 150;
    c = client_for(kf_server_port(s), &co);
    uint64_t t0 = kgc_clock_now(NULL);
    char hash[33];
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, &err), KGC_ETIMEDOUT);
    uint64_t took = kgc_clock_now(NULL) - t0;
    assert_non_null(strstr(err.msg, "timed out after 150 ms"));
    assert_true(took < 1000 * KGC_NS_PER_MS); /* bounded by the timeout, not the latency */
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

/* A Kong that stopped (SIGSTOP, a hung process): the kernel completes the handshake and buffers
 * a little, nobody reads. Returns the listening socket (close it) and its port in *port. */
static int silent_peer(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* The push timeout follows progress: a text the peer stops reading fails once nothing moved for
 * push_stall_ms (long before the size-scaled cap); a text sent whole to a peer that never answers
 * (Kong loading, or silent) is bounded by push_timeout_ms + push_ms_per_mib per started MiB. */
static void test_push_progress_timeouts(void **state)
{
    (void)state;
    assert_int_equal(kgc_kong_push_timeout_ms(10000, 2000, 0), 10000);
    assert_int_equal(kgc_kong_push_timeout_ms(10000, 2000, 1), 12000);
    assert_int_equal(kgc_kong_push_timeout_ms(10000, 2000, (1u << 20) + 1), 14000);
    assert_int_equal(kgc_kong_push_timeout_ms(10000, 2000, 31u << 20), 72000);
    unsigned port = 0;
    int fd = silent_peer(&port);
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    assert_int_equal(co.push_stall_ms, KGC_KONG_PUSH_STALL_MS);
    co.push_timeout_ms = 400;
    co.push_stall_ms = 300;
    co.push_ms_per_mib = 1000;
    struct kgc_kong_client *c = client_for(port, &co);
    size_t big = 32u << 20; /* more than the socket buffers hold: the upload stalls */
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    struct kgc_kong_push_result r;
    struct kgc_err err = {0};
    uint64_t t0 = kgc_clock_now(NULL);
    assert_int_equal(kgc_kong_push_config(c, text, big, &r, &err), KGC_ETIMEDOUT);
    uint64_t took = kgc_clock_now(NULL) - t0;
    assert_non_null(strstr(err.msg, "stalled, no byte moved for 300 ms"));
    assert_true(took < 10000 * KGC_NS_PER_MS); /* the cap would be 32.4 s */
    free(text);
    kgc_kong_client_free(c);

    /* a small text fits the buffers: sent whole, then only the cap (400 ms + 1 MiB's 1000 ms) */
    c = client_for(port, &co);
    t0 = kgc_clock_now(NULL);
    assert_int_equal(kgc_kong_push_config(c, VALID, strlen(VALID), &r, &err), KGC_ETIMEDOUT);
    took = kgc_clock_now(NULL) - t0;
    assert_non_null(strstr(err.msg, "timed out after 1400 ms"));
    assert_true(took >= 1400 * KGC_NS_PER_MS);
    kgc_kong_client_free(c);
    close(fd);
}

struct aborter {
    volatile int *flag;
};

static void *abort_soon(void *arg)
{
    struct aborter *a = arg;
    usleep(100 * 1000);
    __atomic_store_n(a->flag, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void test_abort_flag(void **state)
{
    (void)state;
    struct kf_server_options fo;
    kf_server_options_init(&fo);
    fo.latency_ms = 2500;
    struct kf_server *s = start_fake(&fo);
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.request_timeout_ms = 20000;
    struct kgc_kong_client *c = client_for(kf_server_port(s), &co);
    volatile int flag = 0;
    kgc_kong_client_set_abort_flag(c, &flag);
    struct aborter a = {.flag = &flag};
    pthread_t t;
    pthread_create(&t, NULL, abort_soon, &a);
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    uint64_t t0 = kgc_clock_now(NULL);
    assert_int_equal(kgc_kong_client_get_root(c, &info, NULL, &err), KGC_ESHUTDOWN);
    uint64_t took = kgc_clock_now(NULL) - t0;
    pthread_join(t, NULL);
    assert_non_null(strstr(err.msg, "aborted"));
    assert_true(took < 2400 * KGC_NS_PER_MS); /* before the answer would have come */
    kgc_kong_client_free(c);
    kf_server_stop(s);
}

/* ---- a scripted peer ------------------------------------------------------------------------ */

enum peer_mode {
    PEER_GARBAGE,
    PEER_NOT_FOUND,
    PEER_HUGE,
    PEER_ECHO,
    PEER_NOT_KONG,
    PEER_NESTED,     /* 200: 7.8 MB of [{},{},...] */
    PEER_ENDLESS,    /* 201 to anything, a body that never ends */
    PEER_ERRORS_400, /* 400: flattened_errors entries without end */
};

struct peer {
    struct MHD_Daemon *d;
    unsigned port;
    enum peer_mode mode;
    pthread_mutex_t mu;
    char token[128], empty[16], ua[128], auth[256];
    bool saw_empty;
    bool saw_client_cert;
};

static ssize_t huge_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= (64u << 20))
        return MHD_CONTENT_READER_END_OF_STREAM;
    memset(buf, ' ', max);
    buf[0] = pos == 0 ? '{' : ' ';
    return (ssize_t)max;
}

/* A streamed text: head, then unit, unit, ... (each unit after the first preceded by sep), ended
 * by ']' at limit (0: never ends). */
struct stream_text {
    const char *head, *unit, *sep;
    uint64_t limit; /* end of stream here (0: never) */
};

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    const struct stream_text *t = cls;
    if (t->limit && pos >= t->limit)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t hl = strlen(t->head), ul = strlen(t->unit), sl = strlen(t->sep);
    for (size_t i = 0; i < max; i++) {
        uint64_t p = pos + i;
        if (t->limit && p == t->limit - 1) {
            buf[i] = ']';
            return (ssize_t)(i + 1);
        }
        if (p < hl) {
            buf[i] = t->head[p];
            continue;
        }
        p -= hl;
        if (p < ul) {
            buf[i] = t->unit[p];
            continue;
        }
        p -= ul;
        buf[i] = p % (sl + ul) < sl ? t->sep[p % (sl + ul)] : t->unit[p % (sl + ul) - sl];
    }
    return (ssize_t)max;
}

static const struct stream_text nested_text = {"[", "{}", ",", 7800000};
static const struct stream_text endless_text = {"{\"services\":[", "{\"name\":\"s\"}", ",", 0};
static const struct stream_text errors_text = {
    "{\"message\":\"declarative config is invalid\",\"name\":\"invalid declarative "
    "configuration\",\"code\":14,\"flattened_errors\":[",
    "{\"entity_type\":\"route\",\"entity_name\":\"r\",\"entity\":{\"name\":\"r\",\"paths\":[\"x\"]}"
    ","
    "\"errors\":[{\"type\":\"field\",\"field\":\"paths.1\",\"message\":\"bad path\"}]}",
    ",", 0};

typedef const void *(*get_peers_fn)(void *session, unsigned int *n);

static enum MHD_Result peer_cb(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)url, (void)method, (void)version, (void)upload, (void)con_cls;
    struct peer *p = cls;
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&p->mu);
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Kong-Admin-Token");
    snprintf(p->token, sizeof(p->token), "%s", v ? v : "");
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Empty");
    p->saw_empty = v != NULL;
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
    snprintf(p->ua, sizeof(p->ua), "%s", v ? v : "");
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    snprintf(p->auth, sizeof(p->auth), "%s", v ? v : "");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci && ci->tls_session) {
        /* libmicrohttpd already loaded GnuTLS: ask it whether the client sent a certificate */
        get_peers_fn get_peers = (get_peers_fn)dlsym(RTLD_DEFAULT, "gnutls_certificate_get_peers");
        unsigned int n = 0;
        p->saw_client_cert = get_peers && get_peers(ci->tls_session, &n) && n > 0;
    }
    enum peer_mode mode = p->mode;
    pthread_mutex_unlock(&p->mu);

    struct MHD_Response *r;
    unsigned code = 200;
    static const char garbage[] = "{\"version\": \"3.9.1\", \"configuration\": {\"proxy_li";
    static const char not_found[] = "{\"message\":\"Not found\"}";
    static const char not_kong[] = "{\"hello\":\"world\"}";
    static const char echo[] = "{\"configuration_hash\":\"00000000000000000000000000000000\","
                               "\"version\":\"3.9.1\",\"configuration\":{}}";
    switch (mode) {
    case PEER_GARBAGE:
        r = MHD_create_response_from_buffer(sizeof(garbage) - 1, (void *)garbage,
                                            MHD_RESPMEM_PERSISTENT);
        break;
    case PEER_NOT_FOUND:
        code = 404;
        r = MHD_create_response_from_buffer(sizeof(not_found) - 1, (void *)not_found,
                                            MHD_RESPMEM_PERSISTENT);
        break;
    case PEER_HUGE:
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, huge_cb, NULL, NULL);
        break;
    case PEER_NOT_KONG:
        r = MHD_create_response_from_buffer(sizeof(not_kong) - 1, (void *)not_kong,
                                            MHD_RESPMEM_PERSISTENT);
        break;
    case PEER_NESTED:
        r = MHD_create_response_from_callback(nested_text.limit, 65536, stream_cb,
                                              (void *)&nested_text, NULL);
        break;
    case PEER_ENDLESS:
        code = 201;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, stream_cb,
                                              (void *)&endless_text, NULL);
        break;
    case PEER_ERRORS_400:
        code = 400;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, stream_cb,
                                              (void *)&errors_text, NULL);
        break;
    case PEER_ECHO:
    default:
        r = MHD_create_response_from_buffer(sizeof(echo) - 1, (void *)echo, MHD_RESPMEM_PERSISTENT);
        break;
    }
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* Starts the peer on 127.0.0.1:<free port>; with cert/key PEM it serves HTTPS, and with trust it
 * asks clients for a certificate. */
static struct peer *peer_start(const char *cert, const char *key, const char *trust)
{
    struct peer *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    pthread_mutex_init(&p->mu, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    /* no MHD_USE_ERROR_LOG: the failures the test provokes would be printed */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (cert) {
        flags |= MHD_USE_TLS;
        if (trust)
            p->d = MHD_start_daemon(flags, 0, NULL, NULL, peer_cb, p, MHD_OPTION_SOCK_ADDR, &a,
                                    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                                    MHD_OPTION_HTTPS_MEM_TRUST, trust, MHD_OPTION_END);
        else
            p->d = MHD_start_daemon(flags, 0, NULL, NULL, peer_cb, p, MHD_OPTION_SOCK_ADDR, &a,
                                    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                                    MHD_OPTION_END);
    } else {
        p->d = MHD_start_daemon(flags, 0, NULL, NULL, peer_cb, p, MHD_OPTION_SOCK_ADDR, &a,
                                MHD_OPTION_END);
    }
    assert_non_null(p->d);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(p->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(di);
    p->port = di->port;
    return p;
}

static void peer_stop(struct peer *p)
{
    MHD_stop_daemon(p->d);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static void test_faulty_peer(void **state)
{
    (void)state;
    struct peer *p = peer_start(NULL, NULL, NULL);
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.max_root_body = 1u << 20;
    struct kgc_kong_client *c = client_for(p->port, &co);
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    long status = 0;
    char hash[33];

    p->mode = PEER_GARBAGE;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), KGC_EPARSE);
    assert_int_equal(status, 200);
    assert_non_null(strstr(err.msg, "malformed JSON"));
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, &err), KGC_EPARSE);

    p->mode = PEER_NOT_FOUND;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), KGC_EHTTP);
    assert_int_equal(status, 404);
    assert_non_null(strstr(err.msg, "HTTP 404"));
    assert_non_null(strstr(err.msg, "Not found"));

    p->mode = PEER_NOT_KONG;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), KGC_EPARSE);
    assert_non_null(strstr(err.msg, "not a Kong Admin API answer"));

    p->mode = PEER_HUGE;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), KGC_E2BIG);
    assert_non_null(strstr(err.msg, "larger than 1048576 bytes"));

    /* The client still works after each fault. */
    p->mode = PEER_ECHO;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), 0);
    kgc_kong_info_free(&info);
    kgc_kong_client_free(c);
    peer_stop(p);
}

/* Hostile Kongs (issue #17): answers whose bytes fit but whose JSON would cost json-c gigabytes,
 * a push answer that never ends, an error answer without end. Each is refused or cut with a clear
 * outcome, and nothing big is built. */
static void test_hostile_peer(void **state)
{
    (void)state;
    struct peer *p = peer_start(NULL, NULL, NULL);
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.max_root_body = 16u << 20; /* the bytes fit: the value budget must refuse it */
    co.push_timeout_ms = 60000;
    struct kgc_kong_client *c = client_for(p->port, &co);
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    long status = 0;

    p->mode = PEER_NESTED;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), KGC_E2BIG);
    assert_non_null(strstr(err.msg, "GET /: more than 10000 JSON objects and arrays"));

    /* The 201's status is the answer: the endless body is not read (no timeout). */
    p->mode = PEER_ENDLESS;
    struct kgc_kong_push_result r;
    assert_int_equal(kgc_kong_push_config(c, "{}", 2, &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    assert_int_equal(r.http_status, 201);
    kgc_kong_push_result_free(&r);

    /* An error answer without end: read to the cap, the entries kgc keeps are there. */
    p->mode = PEER_ERRORS_400;
    assert_int_equal(kgc_kong_push_config(c, "{}", 2, &r, &err), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_REJECTED);
    assert_string_equal(r.message, "declarative config is invalid");
    assert_int_equal(r.n_entity_errors, KGC_KONG_PUSH_MAX_ENTITIES);
    assert_true(r.truncated);
    assert_string_equal(r.entity_errors[999].errors[0].message, "bad path");
    kgc_kong_push_result_free(&r);

    p->mode = PEER_ECHO;
    assert_int_equal(kgc_kong_client_get_root(c, &info, &status, &err), 0);
    kgc_kong_info_free(&info);
    kgc_kong_client_free(c);
    peer_stop(p);
}

static void test_extra_headers(void **state)
{
    (void)state;
    struct peer *p = peer_start(NULL, NULL, NULL);
    p->mode = PEER_ECHO;
    const char *headers[] = {"Kong-Admin-Token: s3cret", "X-Empty:"};
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.headers = headers;
    co.n_headers = 2;
    struct kgc_kong_client *c = client_for(p->port, &co);
    char hash[33];
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, NULL), 0);
    assert_string_equal(p->token, "s3cret");
    assert_true(p->saw_empty);
    assert_non_null(strstr(p->ua, "kgc/"));
    struct kgc_kong_push_result r;
    p->token[0] = '\0';
    assert_int_equal(kgc_kong_push_config(c, "{}", 2, &r, NULL), 0);
    assert_string_equal(p->token, "s3cret");
    kgc_kong_push_result_free(&r);
    kgc_kong_client_free(c);
    peer_stop(p);

    struct kgc_err err = {0};
    const char *bad[] = {"No colon"};
    co.headers = bad;
    co.n_headers = 1;
    struct kgc_kong_client *c2 = NULL;
    assert_int_equal(kgc_kong_client_new("http://127.0.0.1:1", &co, &c2, &err), KGC_EUSAGE);
    assert_null(c2);
    const char *bad_name[] = {"Bad Name: x"};
    co.headers = bad_name;
    assert_int_equal(kgc_kong_client_new("http://127.0.0.1:1", &co, &c2, &err), KGC_EUSAGE);
    co.n_headers = 0;
    assert_int_equal(kgc_kong_client_new("127.0.0.1:8001", &co, &c2, &err), KGC_EUSAGE);
    co.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(kgc_kong_client_new("https://127.0.0.1:1", &co, &c2, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "--kong-admin-ca-file /nonexistent/ca.pem"));
}

/* ---- TLS ------------------------------------------------------------------------------------ */

struct pem {
    char *cert, *key;
};

static char *bio_string(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static struct pem make_cert_san(const char *cn, long serial, const char *san);

/* A self-signed certificate for 127.0.0.1 (also its own CA) and its key, as PEM. */
static struct pem make_cert(const char *cn, long serial)
{
    return make_cert_san(cn, serial, "IP:127.0.0.1");
}

/* The same with subjectAltName san. */
static struct pem make_cert_san(const char *cn, long serial, const char *san)
{
    struct pem out;
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(pk);
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    BIO *bc = BIO_new(BIO_s_mem()), *bk = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bc, x);
    PEM_write_bio_PrivateKey(bk, pk, NULL, NULL, 0, NULL, NULL);
    out.cert = bio_string(bc);
    out.key = bio_string(bk);
    BIO_free(bc);
    BIO_free(bk);
    X509_free(x);
    EVP_PKEY_free(pk);
    return out;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int tls_get(unsigned port, const struct kgc_kong_client_options *co, struct kgc_err *err)
{
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
    struct kgc_kong_client *c = NULL;
    int rc = kgc_kong_client_new(url, co, &c, err);
    if (rc)
        return rc;
    char hash[33];
    rc = kgc_kong_client_get_status(c, hash, NULL, err);
    kgc_kong_client_free(c);
    return rc;
}

static void test_tls(void **state)
{
    (void)state;
    struct pem server = make_cert("kong-admin", 1), other = make_cert("other", 2);
    struct pem client = make_cert("kgc", 3);
    char dir[] = "/tmp/kgc-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ca[128], wrong_ca[128], ccert[128], ckey[128], okey[128];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(wrong_ca, sizeof(wrong_ca), "%s/other.pem", dir);
    snprintf(ccert, sizeof(ccert), "%s/client.pem", dir);
    snprintf(ckey, sizeof(ckey), "%s/client.key", dir);
    snprintf(okey, sizeof(okey), "%s/other.key", dir);
    write_file(ca, server.cert);
    write_file(wrong_ca, other.cert);
    write_file(ccert, client.cert);
    write_file(ckey, client.key);
    write_file(okey, other.key);

    struct peer *p = peer_start(server.cert, server.key, client.cert);
    p->mode = PEER_ECHO;
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    /* this test is about what verification decides, not how fast: the default 1 s connect
     * (TCP + TLS handshake) ran out under ASan on a loaded machine and turned ECONNECT into
     * ETIMEDOUT */
    co.request_timeout_ms = 30000;
    co.connect_timeout_ms = 30000;
    struct kgc_err err = {0};

    /* The system trust store does not know the test's certificate. */
    assert_int_equal(tls_get(p->port, &co, &err), KGC_ECONNECT);
    assert_non_null(strstr(err.msg, "certificate"));

    co.tls_skip_verify = true;
    assert_int_equal(tls_get(p->port, &co, &err), 0);
    assert_false(p->saw_client_cert);

    co.tls_skip_verify = false;
    co.ca_file = wrong_ca;
    assert_int_equal(tls_get(p->port, &co, &err), KGC_ECONNECT);

    co.ca_file = ca;
    assert_int_equal(tls_get(p->port, &co, &err), 0);
    assert_false(p->saw_client_cert);

    co.cert_file = ccert;
    co.key_file = ckey;
    err.msg[0] = '\0';
    int rc = tls_get(p->port, &co, &err);
    if (rc)
        fail_msg("mTLS: %s", err.msg);
    assert_true(p->saw_client_cert);

    co.key_file = okey; /* a key that does not match the certificate */
    assert_int_equal(tls_get(p->port, &co, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "TLS setup"));

    peer_stop(p);
    const char *files[] = {ca, wrong_ca, ccert, ckey, okey};
    for (size_t i = 0; i < 5; i++)
        unlink(files[i]);
    rmdir(dir);
    struct pem all[] = {server, other, client};
    for (size_t i = 0; i < 3; i++) {
        free(all[i].cert);
        free(all[i].key);
    }
}

/* Issue #17: credentials in the admin URL are used for the requests (HTTP Basic) and appear in
 * nothing else the client shows: its URL, its error messages. */
static void test_url_credentials(void **state)
{
    (void)state;
    struct peer *p = peer_start(NULL, NULL, NULL);
    p->mode = PEER_ECHO;
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    char url[128], disp[128];
    snprintf(url, sizeof(url), "http://admin:s3cr%%40t@127.0.0.1:%u/", p->port);
    snprintf(disp, sizeof(disp), "http://127.0.0.1:%u", p->port);
    struct kgc_kong_client *c = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_client_new(url, &co, &c, &err), 0);
    assert_string_equal(kgc_kong_client_url(c), disp);
    char hash[33];
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, NULL), 0);
    /* base64("admin:s3cr@t") */
    assert_string_equal(p->auth, "Basic YWRtaW46czNjckB0");
    kgc_kong_client_free(c);

    /* The registry's way: the client is made for the display URL and finds the credentials in
     * credential_urls. */
    const char *creds[] = {"http://other:x@127.0.0.1:1", url};
    co.credential_urls = creds;
    co.n_credential_urls = 2;
    assert_int_equal(kgc_kong_client_new(disp, &co, &c, &err), 0);
    p->auth[0] = '\0';
    assert_int_equal(kgc_kong_client_get_status(c, hash, NULL, NULL), 0);
    assert_string_equal(p->auth, "Basic YWRtaW46czNjckB0");
    kgc_kong_client_free(c);
    peer_stop(p);

    /* An error names the display URL only. */
    co.n_credential_urls = 0;
    assert_int_equal(kgc_kong_client_new("http://admin:s3cret@127.0.0.1:1", &co, &c, &err), 0);
    assert_int_not_equal(kgc_kong_client_get_status(c, hash, NULL, &err), 0);
    assert_null(strstr(err.msg, "s3cret"));
    assert_non_null(strstr(err.msg, "http://127.0.0.1:1"));
    kgc_kong_client_free(c);
    assert_int_equal(kgc_kong_client_new("ftp://admin:s3cret@h", &co, &c, &err), KGC_EUSAGE);
    assert_null(strstr(err.msg, "s3cret"));
    assert_int_equal(kgc_kong_client_new("http://admin:s3cret@h/?x=1", &co, &c, &err), KGC_EUSAGE);
    assert_null(strstr(err.msg, "s3cret"));
    assert_non_null(strstr(err.msg, "query"));
}

static void test_url_display_and_split(void **state)
{
    (void)state;
    char out[KGC_KONG_URL_MAX], ui[KGC_KONG_URL_MAX], user[KGC_KONG_URL_MAX],
        pass[KGC_KONG_URL_MAX];
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_url_split("HTTPS://u:p%3Aq@[::1]:8444/admin//", out, ui, &err), 0);
    assert_string_equal(out, "https://[::1]:8444/admin");
    assert_string_equal(ui, "u:p%3Aq");
    kgc_kong_userinfo_decode(ui, user, pass);
    assert_string_equal(user, "u");
    assert_string_equal(pass, "p:q");
    assert_int_equal(kgc_kong_url_split("http://a@b@host:1", out, ui, &err), 0);
    assert_string_equal(out, "http://host:1");
    assert_string_equal(ui, "a@b");
    assert_true(kgc_kong_url_has_userinfo("http://tok@host"));
    assert_false(kgc_kong_url_has_userinfo("http://host"));
    assert_int_equal(kgc_kong_url_split("http://u:p@", out, ui, &err), KGC_EUSAGE);
    assert_null(strstr(err.msg, "u:p"));
    char d[64];
    kgc_kong_url_display("http://u:p@h:1/x?token=1#f", d, sizeof(d));
    assert_string_equal(d, "http://h:1/x");
    kgc_kong_url_display("u:p@h:1", d, sizeof(d));
    assert_string_equal(d, "h:1");
    kgc_kong_url_display("garbage\n", d, sizeof(d));
    assert_string_equal(d, "garbage?");
}

/* A malformed --kong-admin-header never shows its text: it may be a token missing its colon. */
static void test_header_errors_do_not_echo(void **state)
{
    (void)state;
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    struct kgc_kong_client *c = NULL;
    struct kgc_err err = {0};
    const char *cases[][1] = {
        {"Kong-Admin-Token s3cret"}, {"Bad Name s3cret: v"}, {"Kong-Admin-Token: s3cret\r\nX: y"}};
    for (size_t i = 0; i < 3; i++) {
        co.headers = cases[i];
        co.n_headers = 1;
        assert_int_equal(kgc_kong_client_new("http://127.0.0.1:1", &co, &c, &err), KGC_EUSAGE);
        assert_null(strstr(err.msg, "s3cret"));
        assert_non_null(strstr(err.msg, "--kong-admin-header"));
    }

    char path[] = "/tmp/kgc-hdr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char **lines = NULL;
    size_t n = 0;
    write_file(path, "# token\n\nKong-Admin-Token: s3cret\r\n  X-Team:  a b \n");
    assert_int_equal(kgc_kong_read_header_file(path, &lines, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(lines[0], "Kong-Admin-Token: s3cret");
    assert_string_equal(lines[1], "X-Team:  a b ");
    kgc_kong_header_lines_free(lines, n);
    write_file(path, "X-Ok: 1\nKong-Admin-Token s3cret\n");
    assert_int_equal(kgc_kong_read_header_file(path, &lines, &n, &err), KGC_EUSAGE);
    assert_null(strstr(err.msg, "s3cret"));
    assert_non_null(strstr(err.msg, "line 2"));
    assert_null(lines);
    write_file(path, "Kong-Admin-Token: s3\001cret\n");
    assert_int_equal(kgc_kong_read_header_file(path, &lines, &n, &err), KGC_EUSAGE);
    assert_null(strstr(err.msg, "s3"));
    unlink(path);
    assert_int_equal(kgc_kong_read_header_file(path, &lines, &n, &err), KGC_EUSAGE);
}

/* --kong-admin-tls-server-name: an instance known by IP is verified against the Service name in
 * its certificate, and the server sees that name as SNI. */
static void test_tls_server_name(void **state)
{
    (void)state;
    struct pem server = make_cert_san("kong-admin", 7, "DNS:kong-admin.kong.svc");
    char dir[] = "/tmp/kgc-sni-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ca[128];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    write_file(ca, server.cert);
    struct peer *p = peer_start(server.cert, server.key, NULL);
    p->mode = PEER_ECHO;
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.ca_file = ca;
    struct kgc_err err = {0};
    /* the certificate does not name 127.0.0.1 */
    assert_int_equal(tls_get(p->port, &co, &err), KGC_ECONNECT);
    co.tls_server_name = "kong-admin.kong.svc";
    err.msg[0] = '\0';
    int rc = tls_get(p->port, &co, &err);
    if (rc)
        fail_msg("server name: %s", err.msg);
    co.tls_server_name = "other.kong.svc";
    assert_int_equal(tls_get(p->port, &co, &err), KGC_ECONNECT);
    assert_null(strstr(err.msg, "other.kong.svc:")); /* the message names the instance's URL */
    co.tls_server_name = "bad name";
    assert_int_equal(tls_get(p->port, &co, &err), KGC_EUSAGE);
    peer_stop(p);
    unlink(ca);
    rmdir(dir);
    free(server.cert);
    free(server.key);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_against_test_kong),
        cmocka_unit_test(test_push_byte_exact),
        cmocka_unit_test(test_push_too_large),
        cmocka_unit_test(test_push_big_answer),
        cmocka_unit_test(test_busy_answers),
        cmocka_unit_test(test_empty_listeners_from_test_kong),
        cmocka_unit_test(test_refused_and_timeout),
        cmocka_unit_test(test_push_progress_timeouts),
        cmocka_unit_test(test_abort_flag),
        cmocka_unit_test(test_faulty_peer),
        cmocka_unit_test(test_hostile_peer),
        cmocka_unit_test(test_extra_headers),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_url_credentials),
        cmocka_unit_test(test_url_display_and_split),
        cmocka_unit_test(test_header_errors_do_not_echo),
        cmocka_unit_test(test_tls_server_name),
    };
    int rc = cmocka_run_group_tests_name("kong_client", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
