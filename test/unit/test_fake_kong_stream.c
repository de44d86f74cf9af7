/* The test Kong's stream side: Kong's stream_listen parsing (kong/conf_loader/listeners.lua with
 * the stream flags, and nginx's udp incompatibilities), the ClientHello SNI that nginx's
 * ssl_preread extracts (real ClientHellos made by OpenSSL, cut and split into records), Kong's
 * stream runloop decisions per router flavour (kf_dp_stream: the route by destination port and SNI,
 * the preread block's terminate/passthrough/unexpected, no service, no peer, udp), and the
 * listeners in-process (tcp answer + echo, udp reply). Kong's own stream routing cases
 * (spec/01-unit/08-router_spec.lua:4408-4808 "#stream context", 4841-4872 "check empty route
 * fields") are in test_fake_kong_router_trad.c and test_fake_kong_router_atc.c; here the runloop
 * around them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/kong_fake.h"
#include "../fakes/kong/proxy_internal.h"

#include <kgc/log.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static json_object *jpath(json_object *o, const char *k)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *v = jpath(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* ---- stream_listen ------------------------------------------------------------------------- */

static void test_stream_listen(void **state)
{
    (void)state;
    char err[600];
    struct kf_listen *ls = NULL;
    size_t n = 0;
    json_object *doc = NULL;
    assert_int_equal(kf_stream_listen_parse("0.0.0.0:9000 udp reuseport, 127.0.0.1:9443 ssl "
                                            "proxy_protocol backlog=10, [::1]:9001",
                                            &ls, &n, &doc, err, sizeof(err)),
                     0);
    assert_int_equal(n, 3);
    assert_true(ls[0].udp && ls[0].reuseport && !ls[0].ssl);
    assert_true(ls[1].ssl && ls[1].proxy_protocol && !ls[1].udp);
    assert_int_equal(ls[1].backlog, 10);
    json_object *sl = jpath(doc, "stream_listeners");
    assert_int_equal(json_object_array_length(sl), 3);
    json_object *a = json_object_array_get_idx(sl, 0), *b = json_object_array_get_idx(sl, 1);
    /* listeners.lua:133-134: the flags in the subsystem's order, as found */
    assert_string_equal(jstr(a, "listener"), "0.0.0.0:9000 udp reuseport");
    assert_true(json_object_get_boolean(jpath(a, "udp")));
    assert_false(json_object_get_boolean(jpath(a, "ssl")));
    assert_null(jpath(a, "http2")); /* not a stream flag */
    assert_string_equal(jstr(b, "listener"), "127.0.0.1:9443 ssl proxy_protocol backlog=10");
    assert_true(json_object_get_boolean(jpath(b, "backlog=10")));
    assert_string_equal(jstr(json_object_array_get_idx(sl, 2), "ip"),
                        "[0000:0000:0000:0000:0000:0000:0000:0001]");
    assert_int_equal(json_object_array_length(jpath(doc, "stream_listen")), 3);
    assert_null(jpath(doc, "proxy_listeners"));
    free(ls);
    json_object_put(doc);

    assert_int_equal(kf_stream_listen_parse("off", &ls, &n, &doc, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(json_object_array_length(jpath(doc, "stream_listeners")), 0);
    free(ls);
    json_object_put(doc);

    static const char *const bad[] = {"9000", "1.2.3.4", "", "0.0.0.0:9000 http2", "0.0.0.0:9000,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(kf_stream_listen_parse(bad[i], &ls, &n, NULL, err, sizeof(err)), 0);
        assert_null(ls);
        assert_string_equal(err, "stream_listen must be of form: [off] | <ip>:<port> [udp] [ssl] "
                                 "[proxy_protocol] [bind] [reuseport] [backlog=%d+] "
                                 "[ipv6only=on] [ipv6only=off] [so_keepalive=on] "
                                 "[so_keepalive=off] [so_keepalive=%w*:%w*:%d*], [... next "
                                 "entry ...]");
    }
    /* nginx's ngx_stream_core_listen, in its order */
    static const char *const udp_bad[][2] = {
        {"0.0.0.0:9000 udp ssl", "\"ssl\" parameter is incompatible with \"udp\""},
        {"0.0.0.0:9000 udp backlog=5 ssl", "\"backlog\" parameter is incompatible with \"udp\""},
        {"0.0.0.0:9000 udp so_keepalive=off", "\"so_keepalive\" parameter is incompatible with "
                                              "\"udp\""},
        {"0.0.0.0:9000 udp proxy_protocol", "\"proxy_protocol\" parameter is incompatible with "
                                            "\"udp\""},
    };
    for (size_t i = 0; i < sizeof(udp_bad) / sizeof(udp_bad[0]); i++) {
        doc = NULL;
        assert_int_not_equal(kf_stream_listen_parse(udp_bad[i][0], &ls, &n, &doc, err, sizeof(err)),
                             0);
        assert_null(ls);
        assert_null(doc);
        assert_string_equal(err, udp_bad[i][1]);
    }
}

/* ---- the ClientHello's SNI ----------------------------------------------------------------- */

/* The first flight an OpenSSL client sends (sni NULL: none) into buf; its length. */
static size_t client_hello(const char *sni, unsigned char *buf, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL *ssl = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, rb, wb);
    if (sni) {
        SSL_set_tlsext_host_name(ssl, sni);
    }
    SSL_set_connect_state(ssl);
    assert_true(SSL_do_handshake(ssl) <= 0); /* wants the server's answer */
    int n = BIO_read(wb, buf, (int)cap);
    assert_true(n > 0);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return (size_t)n;
}

static void test_hello_sni(void **state)
{
    (void)state;
    unsigned char h[8192], split[8200];
    char sni[256];
    size_t need = 0;
    size_t n = client_hello("pt.example", h, sizeof(h));
    assert_int_equal(kf_tls_hello_sni(h, n, sni, sizeof(sni), &need), KF_HELLO_DONE);
    assert_string_equal(sni, "pt.example");
    /* every prefix asks for more, naming a length past what it has */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(kf_tls_hello_sni(h, k, sni, sizeof(sni), &need), KF_HELLO_NEED_MORE);
        assert_true(need > k && need <= n);
    }
    /* the handshake split over two records (fragmentation, RFC 8446 5.1) */
    size_t body = n - 5, first = body / 3;
    memcpy(split, h, 5 + first);
    split[3] = (unsigned char)(first >> 8);
    split[4] = (unsigned char)first;
    split[5 + first] = 0x16;
    split[6 + first] = h[1];
    split[7 + first] = h[2];
    split[8 + first] = (unsigned char)((body - first) >> 8);
    split[9 + first] = (unsigned char)(body - first);
    memcpy(split + 10 + first, h + 5 + first, body - first);
    assert_int_equal(kf_tls_hello_sni(split, n + 5, sni, sizeof(sni), &need), KF_HELLO_DONE);
    assert_string_equal(sni, "pt.example");
    assert_int_equal(kf_tls_hello_sni(split, 5 + first + 5, sni, sizeof(sni), &need),
                     KF_HELLO_NEED_MORE);
    assert_int_equal(need, n + 5);

    n = client_hello(NULL, h, sizeof(h));
    assert_int_equal(kf_tls_hello_sni(h, n, sni, sizeof(sni), &need), KF_HELLO_DONE);
    assert_string_equal(sni, "");

    /* not TLS: an HTTP request, an alert record, a ServerHello-typed handshake */
    const unsigned char http[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(kf_tls_hello_sni(http, sizeof(http) - 1, sni, sizeof(sni), &need),
                     KF_HELLO_NOT_TLS);
    const unsigned char alert[] = {0x15, 3, 1, 0, 2, 2, 40};
    assert_int_equal(kf_tls_hello_sni(alert, sizeof(alert), sni, sizeof(sni), &need),
                     KF_HELLO_NOT_TLS);
    n = client_hello("a.example", h, sizeof(h));
    h[5] = 2;
    assert_int_equal(kf_tls_hello_sni(h, n, sni, sizeof(sni), &need), KF_HELLO_NOT_TLS);
    /* a NUL inside the name, a name longer than the buffer */
    n = client_hello("ab.example", h, sizeof(h));
    unsigned char *p = memmem(h, n, "ab.example", 10);
    assert_non_null(p);
    p[1] = '\0';
    assert_int_equal(kf_tls_hello_sni(h, n, sni, sizeof(sni), &need), KF_HELLO_NOT_TLS);
    n = client_hello("ab.example", h, sizeof(h));
    assert_int_equal(kf_tls_hello_sni(h, n, sni, 5, &need), KF_HELLO_NOT_TLS);
    /* a record length over 2^14 + 2048 */
    const unsigned char huge[] = {0x16, 3, 1, 0x48, 0x01};
    assert_int_equal(kf_tls_hello_sni(huge, sizeof(huge), sni, sizeof(sni), &need),
                     KF_HELLO_NOT_TLS);
}

/* ---- kf_dp_stream: Kong's stream runloop decisions ----------------------------------------- */

static const char CONFIG[] =
    "{\"_format_version\":\"3.0\","
    "\"upstreams\":[{\"name\":\"up\",\"targets\":[{\"target\":\"10.0.0.1:7001\"}]},"
    "{\"name\":\"dead\"}],"
    "\"services\":["
    "{\"name\":\"tcp\",\"protocol\":\"tcp\",\"host\":\"up\",\"port\":7000,\"routes\":["
    "{\"name\":\"tcp-r\",\"protocols\":[\"tcp\"],\"destinations\":[{\"port\":9000}]}]},"
    "{\"name\":\"tls\",\"protocol\":\"tcp\",\"host\":\"10.0.0.9\",\"port\":"
    "9001,\"routes\":["
    "{\"name\":\"tls-r\",\"protocols\":[\"tls\"],\"snis\":[\"t.example\"],\"destinations\":[{"
    "\"port\":9443}]},"
    "{\"name\":\"pt-r\",\"protocols\":[\"tls_passthrough\"],\"snis\":[\"p.example\"],"
    "\"destinations\":[{\"port\":9443}]},"
    "{\"name\":\"tcp-on-tls\",\"protocols\":[\"tcp\"],\"destinations\":[{\"port\":9443}]}]},"
    "{\"name\":\"dead\",\"protocol\":\"tcp\",\"host\":\"dead\",\"port\":1,\"routes\":["
    "{\"name\":\"dead-r\",\"protocols\":[\"tcp\"],\"destinations\":[{\"port\":9002}]}]},"
    "{\"name\":\"udp\",\"protocol\":\"udp\",\"host\":\"10.0.0.53\",\"port\":53,\"routes\":["
    "{\"name\":\"udp-r\",\"protocols\":[\"udp\"],\"destinations\":[{\"port\":9053}]}]}],"
    "\"routes\":[{\"name\":\"nosvc\",\"protocols\":[\"tcp\"],\"destinations\":[{\"port\":9003}]}]"
    "}";

static struct kf_dp *dp_of(const char *doc, const char *flavor)
{
    json_object *d = json_tokener_parse(doc);
    assert_non_null(d);
    struct kf_validate_opts o = {.router_flavor = flavor};
    json_object *ents = NULL, *err = NULL;
    int rc = kf_validate(d, &o, &ents, &err);
    if (rc != 0) {
        print_message("kf_validate: %s\n", err ? json_object_to_json_string(err) : "?");
    }
    assert_int_equal(rc, 0);
    char e[256];
    struct kf_dp *dp = kf_dp_new(ents, (enum kf_flavor)kf_flavor_parse(flavor), e, sizeof(e));
    assert_non_null(dp);
    json_object_put(ents);
    json_object_put(err);
    json_object_put(d);
    return dp;
}

/* outcome and, when proxied, the route name */
static enum kf_stream_outcome decide(struct kf_dp *dp, bool udp, bool preread, const char *sni,
                                     unsigned port, char *route, size_t rsz)
{
    struct kf_stream_req q = {.udp = udp,
                              .preread_block = preread,
                              .sni = sni,
                              .src_ip = "127.0.0.1",
                              .src_port = 40000,
                              .dst_ip = "127.0.0.1",
                              .dst_port = port};
    struct kf_stream_res res;
    assert_int_equal(kf_dp_stream(dp, &q, &res), 0);
    route[0] = '\0';
    if (res.outcome == KF_STREAM_PROXY) {
        json_object *k = jpath(res.answer, "kong");
        snprintf(route, rsz, "%s", jstr(jpath(k, "route"), "name"));
        json_object_put(res.answer);
    } else {
        assert_null(res.answer);
    }
    return res.outcome;
}

static void runloop(const char *flavor)
{
    struct kf_dp *dp = dp_of(CONFIG, flavor);
    char r[128];
    assert_int_equal(decide(dp, false, false, NULL, 9000, r, sizeof(r)), KF_STREAM_PROXY);
    assert_string_equal(r, "tcp-r");
    assert_int_equal(decide(dp, false, false, NULL, 9999, r, sizeof(r)), KF_STREAM_NO_ROUTE);
    /* handler.lua:1087-1105: the preread block only decides where the connection goes */
    assert_int_equal(decide(dp, false, true, "t.example", 9443, r, sizeof(r)), KF_STREAM_TERMINATE);
    assert_int_equal(decide(dp, false, true, "p.example", 9443, r, sizeof(r)),
                     KF_STREAM_PASSTHROUGH);
    if (strcmp(flavor, "traditional") == 0) {
        /* no SNI: scheme tcp, the tcp route on the port; not tls: closed */
        assert_int_equal(decide(dp, false, true, NULL, 9443, r, sizeof(r)), KF_STREAM_UNEXPECTED);
    } else {
        /* transform.lua:343-355: (net.protocol != "tls" || tls.sni == ...) holds for tcp, and
         * the SNI bit outranks the port-only route: terminated, and routed to tls-r again */
        assert_int_equal(decide(dp, false, true, NULL, 9443, r, sizeof(r)), KF_STREAM_TERMINATE);
        assert_int_equal(decide(dp, false, false, NULL, 9443, r, sizeof(r)), KF_STREAM_PROXY);
        assert_string_equal(r, "tls-r");
    }
    /* second layer: sni known, scheme tls */
    assert_int_equal(decide(dp, false, false, "t.example", 9443, r, sizeof(r)), KF_STREAM_PROXY);
    assert_string_equal(r, "tls-r");
    assert_int_equal(decide(dp, false, false, "p.example", 9443, r, sizeof(r)), KF_STREAM_PROXY);
    assert_string_equal(r, "pt-r");
    /* kong/init.lua:1087-1094 and balancer/init.lua:352-355 */
    assert_int_equal(decide(dp, false, false, NULL, 9003, r, sizeof(r)), KF_STREAM_NO_SERVICE);
    assert_int_equal(decide(dp, false, false, NULL, 9002, r, sizeof(r)), KF_STREAM_NO_PEER);
    assert_int_equal(decide(dp, true, false, NULL, 9053, r, sizeof(r)), KF_STREAM_PROXY);
    assert_string_equal(r, "udp-r");
    kf_dp_unref(dp);
    /* no configuration: every connection is closed */
    assert_int_equal(decide(NULL, false, false, NULL, 9000, r, sizeof(r)), KF_STREAM_NO_ROUTE);
}

static void test_runloop_traditional(void **state)
{
    (void)state;
    runloop("traditional");
}

static void test_runloop_traditional_compatible(void **state)
{
    (void)state;
    runloop("traditional_compatible");
}

static void test_runloop_expressions(void **state)
{
    (void)state;
    runloop("expressions");
}

/* the answer: kong.{route, service, upstream, target}, namespace */
static void test_answer_fields(void **state)
{
    (void)state;
    struct kf_dp *dp = dp_of(CONFIG, "traditional_compatible");
    struct kf_stream_req q = {.src_ip = "127.0.0.1", .dst_ip = "127.0.0.1", .dst_port = 9000};
    struct kf_stream_res res;
    assert_int_equal(kf_dp_stream(dp, &q, &res), 0);
    assert_int_equal(res.outcome, KF_STREAM_PROXY);
    assert_string_equal(res.scheme, "tcp");
    json_object *k = jpath(res.answer, "kong");
    assert_string_equal(jstr(jpath(k, "service"), "name"), "tcp");
    assert_string_equal(jstr(jpath(k, "upstream"), "name"), "up");
    assert_string_equal(jstr(k, "target"), "10.0.0.1:7001");
    assert_non_null(jstr(jpath(k, "route"), "id"));
    json_object_put(res.answer);
    q.dst_port = 9053;
    q.udp = true;
    assert_int_equal(kf_dp_stream(dp, &q, &res), 0);
    assert_string_equal(res.scheme, "udp");
    k = jpath(res.answer, "kong");
    assert_null(jpath(k, "upstream"));
    assert_string_equal(jstr(k, "target"), "10.0.0.53:53");
    json_object_put(res.answer);
    kf_dp_unref(dp);
}

/* ---- the listeners in-process ------------------------------------------------------------- */

static int dial(int type, unsigned port)
{
    int fd = socket(AF_INET, type, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void test_listeners(void **state)
{
    (void)state;
    struct kf_proxy_options o = {.stream_listen = "127.0.0.1:0, 127.0.0.1:0 udp",
                                 .flavor = KF_FLAVOR_TRADITIONAL_COMPATIBLE,
                                 .stream_idle_ms = 2000};
    struct kf_proxy *p = NULL;
    char err[512];
    assert_int_equal(kf_proxy_start(&o, &p, err, sizeof(err)), 0);
    unsigned tport = kf_proxy_stream_port(p, 0), uport = kf_proxy_stream_port(p, 1);
    assert_true(tport > 0 && uport > 0);
    assert_int_equal(kf_proxy_stream_port(p, 2), 0);
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"protocol\":\"tcp\","
             "\"host\":\"10.1.1.1\",\"port\":7,\"routes\":[{\"name\":\"t\",\"protocols\":[\"tcp\"],"
             "\"destinations\":[{\"port\":%u}]}]},{\"name\":\"u\",\"protocol\":\"udp\",\"host\":"
             "\"10.1.1.2\",\"port\":53,\"routes\":[{\"name\":\"ur\",\"protocols\":[\"udp\"],"
             "\"destinations\":[{\"port\":%u}]}]}]}",
             tport, uport);
    /* before a configuration: closed without a byte */
    int fd = dial(SOCK_STREAM, tport);
    char buf[4096];
    assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0);
    close(fd);

    json_object *d = json_tokener_parse(doc), *ents = NULL, *verr = NULL;
    struct kf_validate_opts vo = {.router_flavor = "traditional_compatible"};
    assert_int_equal(kf_validate(d, &vo, &ents, &verr), 0);
    assert_int_equal(kf_proxy_set_config(p, ents), 0);
    json_object_put(ents);
    json_object_put(d);

    fd = dial(SOCK_STREAM, tport);
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0 && buf[n - 1] == '\n');
    buf[n] = '\0';
    json_object *a = json_tokener_parse(buf);
    assert_string_equal(jstr(jpath(jpath(a, "kong"), "route"), "name"), "t");
    assert_int_equal(json_object_get_int(jpath(a, "port")), (int)tport);
    json_object_put(a);
    assert_int_equal(send(fd, "ping\n", 5, 0), 5);
    assert_int_equal(recv(fd, buf, sizeof(buf), MSG_WAITALL), 5);
    assert_memory_equal(buf, "ping\n", 5);
    close(fd);

    fd = dial(SOCK_DGRAM, uport);
    assert_int_equal(send(fd, "q\x01", 2, 0), 2);
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    a = json_tokener_parse(buf);
    assert_string_equal(jstr(a, "echo"), "q.");
    assert_int_equal(json_object_get_int(jpath(a, "bytes")), 2);
    assert_string_equal(jstr(a, "protocol"), "udp");
    json_object_put(a);
    close(fd);

    /* an open connection does not hold the stop up */
    fd = dial(SOCK_STREAM, tport);
    assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
    kf_proxy_stop(p);
    close(fd);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_listen),
        cmocka_unit_test(test_hello_sni),
        cmocka_unit_test(test_runloop_traditional),
        cmocka_unit_test(test_runloop_traditional_compatible),
        cmocka_unit_test(test_runloop_expressions),
        cmocka_unit_test(test_answer_fields),
        cmocka_unit_test(test_listeners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
