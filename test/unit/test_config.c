/* config: flags, env, precedence, types, bounds, repeatable options and --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/clock.h"
#include "kgc/config.h"
#include "kgc/k8s.h"
#include "kgc/kong.h"
#include "kgc/listenercache.h"
#include "kgc/reconcile.h"

#include <stdlib.h>
#include <string.h>

struct parsed {
    struct kgc_config cfg;
    struct kgc_err err;
    enum kgc_config_action action;
    int rc;
};

/* Parses a NULL-terminated argv (without argv[0]) and env list. */
static void parse(struct parsed *p, const char *const *args, const char *const *env)
{
    char *argv[32] = {"kgc"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    memset(&p->err, 0, sizeof(p->err));
    p->rc = kgc_config_parse(&p->cfg, argc, argv, (char *const *)env, &p->action, &p->err);
}

static void test_defaults_match_client_go(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, NULL, NULL);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.action, KGC_CONFIG_RUN);
    assert_int_equal(p.cfg.log_level, KGC_LOG_INFO);
    assert_int_equal(p.cfg.log_format, KGC_LOG_TEXT);
    assert_true(p.cfg.queue_base_delay_ns == 5 * KGC_NS_PER_MS);
    assert_true(p.cfg.queue_max_delay_ns == 1000 * KGC_NS_PER_S);
    assert_true(p.cfg.queue_qps == 10.0);
    assert_int_equal(p.cfg.queue_burst, 100);
    kgc_config_free(&p.cfg);
}

static void test_flag_forms_and_env(void **state)
{
    (void)state;
    struct parsed p;
    const char *args[] = {"--log-level", "debug", "--queue-qps=2.5", NULL};
    const char *env[] = {"KGC_LOG_FORMAT=json", "KGC_QUEUE_BURST=7", "HOME=/root", NULL};
    parse(&p, args, env);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.cfg.log_level, KGC_LOG_DEBUG);
    assert_true(p.cfg.queue_qps == 2.5);
    assert_int_equal(p.cfg.log_format, KGC_LOG_JSON);
    assert_int_equal(p.cfg.queue_burst, 7);
    kgc_config_free(&p.cfg);
}

static void test_flag_wins_over_env(void **state)
{
    (void)state;
    struct parsed p;
    const char *args[] = {"--queue-burst=3", NULL};
    const char *env[] = {"KGC_QUEUE_BURST=7", NULL};
    parse(&p, args, env);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.cfg.queue_burst, 3);
    kgc_config_free(&p.cfg);
}

static void expect_usage_error(const char *const *args, const char *const *env, const char *needle)
{
    struct parsed p;
    parse(&p, args, env);
    assert_int_equal(p.rc, KGC_EUSAGE);
    if (!strstr(p.err.msg, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", p.err.msg, needle);
    assert_null(strchr(p.err.msg, '\n'));
    kgc_config_free(&p.cfg);
}

static void test_bad_values_name_the_option(void **state)
{
    (void)state;
    const char *a1[] = {"--queue-qps", "fast", NULL};
    expect_usage_error(a1, NULL, "--queue-qps: \"fast\" is not a number");
    const char *a2[] = {"--queue-burst=0", NULL};
    expect_usage_error(a2, NULL, "--queue-burst: 0 is out of range");
    const char *a3[] = {"--queue-base-delay=5", NULL};
    expect_usage_error(a3, NULL, "--queue-base-delay: \"5\" is not a duration");
    const char *a4[] = {"--log-level=loud", NULL};
    expect_usage_error(a4, NULL, "--log-level: \"loud\" is not a log level");
    const char *a5[] = {"--no-such-thing", NULL};
    expect_usage_error(a5, NULL, "unknown option --no-such-thing");
    const char *a6[] = {"--queue-qps", NULL};
    expect_usage_error(a6, NULL, "--queue-qps: missing value");
    const char *a7[] = {"stray", NULL};
    expect_usage_error(a7, NULL, "unexpected argument \"stray\"");
    const char *e1[] = {"KGC_QUEUE_BURST=lots", NULL};
    expect_usage_error(NULL, e1, "KGC_QUEUE_BURST: \"lots\" is not an integer");
    const char *a8[] = {"--queue-max-delay=1us", NULL};
    expect_usage_error(a8, NULL, "--queue-max-delay: 1us is out of range [1ms, 24h]");
}

static void test_durations(void **state)
{
    (void)state;
    uint64_t ns;
    assert_int_equal(kgc_config_parse_duration("1m30s", &ns), 0);
    assert_true(ns == 90 * KGC_NS_PER_S);
    assert_int_equal(kgc_config_parse_duration("250ms", &ns), 0);
    assert_true(ns == 250 * KGC_NS_PER_MS);
    assert_int_equal(kgc_config_parse_duration("1.5h", &ns), 0);
    assert_true(ns == 5400 * KGC_NS_PER_S);
    assert_int_equal(kgc_config_parse_duration("0", &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(kgc_config_parse_duration("10us", &ns), 0);
    assert_true(ns == 10000);
    assert_int_equal(kgc_config_parse_duration("", &ns), KGC_EINVAL);
    assert_int_equal(kgc_config_parse_duration("10", &ns), KGC_EINVAL);
    assert_int_equal(kgc_config_parse_duration("-1s", &ns), KGC_EINVAL);
    assert_int_equal(kgc_config_parse_duration("1x", &ns), KGC_EINVAL);
    char buf[32];
    assert_string_equal(kgc_config_format_duration(90 * KGC_NS_PER_S, buf, sizeof(buf)), "1m30s");
    assert_string_equal(kgc_config_format_duration(200 * KGC_NS_PER_MS, buf, sizeof(buf)), "200ms");
    assert_string_equal(kgc_config_format_duration(3600 * KGC_NS_PER_S, buf, sizeof(buf)), "1h");
}

static void test_help_lists_every_option_with_env_and_default(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    kgc_config_print_help(f, "kgc");
    fclose(f);
    size_t n;
    const struct kgc_config_option *opts = kgc_config_options(&n);
    assert_true(n >= 6);
    for (size_t i = 0; i < n; i++) {
        char want[256], env[128];
        snprintf(want, sizeof(want), "  --%s", opts[i].name);
        if (!strstr(text, want))
            fail_msg("--help lacks %s", want);
        kgc_config_env_name(opts[i].name, env, sizeof(env));
        snprintf(want, sizeof(want), "env %s, default \"%s\"", env, opts[i].def ? opts[i].def : "");
        if (opts[i].def && *opts[i].def && !strstr(text, want))
            fail_msg("--help lacks \"%s\"", want);
    }
    free(text);

    struct parsed p;
    const char *args[] = {"--queue-qps=bad", "--help", NULL}; /* a bad value before --help wins */
    parse(&p, args, NULL);
    assert_int_equal(p.rc, KGC_EUSAGE);
    kgc_config_free(&p.cfg);
    const char *args2[] = {"--help", "--queue-qps=bad", NULL};
    parse(&p, args2, NULL);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.action, KGC_CONFIG_HELP);
    kgc_config_free(&p.cfg);
}

static void test_env_name(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(kgc_config_env_name("kong-admin-url", buf, sizeof(buf)),
                        "KGC_KONG_ADMIN_URL");
}

/* The option table's defaults are the modules' documented defaults: they cannot drift apart. */
static void test_defaults_equal_the_modules_defaults(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, NULL, NULL);
    assert_int_equal(p.rc, 0);
    struct kgc_k8s_options k8s;
    kgc_k8s_options_default(&k8s);
    assert_true(p.cfg.apiserver_qps == k8s.qps);
    assert_int_equal(p.cfg.apiserver_burst, k8s.burst);
    assert_true(p.cfg.k8s_timeout_ns == k8s.timeout_ns);
    assert_int_equal(p.cfg.watch_event_max_bytes, k8s.watch_event_max_bytes);
    struct kgc_kong_options kong;
    kgc_kong_options_default(&kong);
    assert_string_equal(p.cfg.kong_admin_port_name, kong.admin_port_name);
    assert_true(p.cfg.kong_probe_interval_ns == kong.probe_interval_ms * KGC_NS_PER_MS);
    assert_true(p.cfg.kong_down_probe_interval_ns == kong.down_probe_interval_ms * KGC_NS_PER_MS);
    assert_true(p.cfg.kong_probe_timeout_ns == kong.client.request_timeout_ms * KGC_NS_PER_MS);
    assert_false(p.cfg.kong_admin_tls_skip_verify);
    struct kgc_listenercache_options lc;
    kgc_listenercache_options_default(&lc);
    assert_string_equal(p.cfg.listener_cache_dir, lc.dir);
    assert_int_equal(p.cfg.listener_cache_max_mb, lc.max_mb);
    struct kgc_reconcile_options rc;
    kgc_reconcile_options_default(&rc);
    assert_string_equal(p.cfg.controller_name, rc.controller_name);
    assert_int_equal(p.cfg.gatewayclass_workers, rc.workers[KGC_RECONCILE_GATEWAYCLASS]);
    assert_int_equal(p.cfg.gateway_workers, rc.workers[KGC_RECONCILE_GATEWAY]);
    assert_int_equal(p.cfg.httproute_workers, rc.workers[KGC_RECONCILE_HTTPROUTE]);
    assert_int_equal(p.cfg.grpcroute_workers, rc.workers[KGC_RECONCILE_GRPCROUTE]);
    assert_int_equal(p.cfg.kongplugin_workers, rc.workers[KGC_RECONCILE_KONGPLUGIN]);
    assert_int_equal(p.cfg.backendtlspolicy_workers, rc.workers[KGC_RECONCILE_BACKENDTLSPOLICY]);
    assert_int_equal(p.cfg.listenerset_workers, rc.workers[KGC_RECONCILE_LISTENERSET]);
    assert_int_equal(p.cfg.tlsroute_workers, rc.workers[KGC_RECONCILE_TLSROUTE]);
    assert_int_equal(p.cfg.tcproute_workers, rc.workers[KGC_RECONCILE_TCPROUTE]);
    assert_int_equal(p.cfg.udproute_workers, rc.workers[KGC_RECONCILE_UDPROUTE]);
    assert_true(p.cfg.requeue_on_kong_ready == rc.requeue_on_kong_ready);
    assert_true(p.cfg.queue_base_delay_ns == rc.rate_limit.base_delay_ns);
    kgc_config_free(&p.cfg);
}

static void test_repeatable_options_and_booleans(void **state)
{
    (void)state;
    struct parsed p;
    /* env gives a comma-separated list; flags replace it and collect every occurrence */
    const char *env[] = {"KGC_KONG_ADMIN_URL=http://a:8001,http://b:8001",
                         "KGC_REQUEUE_ON_KONG_READY=false", NULL};
    parse(&p, NULL, env);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.cfg.kong_admin_urls.len, 2);
    assert_string_equal(p.cfg.kong_admin_urls.items[1], "http://b:8001");
    assert_false(p.cfg.requeue_on_kong_ready);
    kgc_config_free(&p.cfg);

    const char *args[] = {"--kong-admin-url",
                          "http://c:8001",
                          "--kong-admin-url=http://d:8001",
                          "--requeue-on-kong-ready",
                          "--kong-admin-tls-skip-verify=yes",
                          "--listener-cache-dir=",
                          NULL};
    parse(&p, args, env);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.cfg.kong_admin_urls.len, 2);
    assert_string_equal(p.cfg.kong_admin_urls.items[0], "http://c:8001");
    assert_string_equal(p.cfg.kong_admin_urls.items[1], "http://d:8001");
    assert_true(p.cfg.requeue_on_kong_ready); /* the flag wins over the env */
    assert_true(p.cfg.kong_admin_tls_skip_verify);
    assert_string_equal(p.cfg.listener_cache_dir, ""); /* empty disables the cache */
    kgc_config_free(&p.cfg);

    const char *bad[] = {"--requeue-on-kong-ready=maybe", NULL};
    expect_usage_error(bad, NULL, "--requeue-on-kong-ready: \"maybe\" is not a boolean");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_client_go),
        cmocka_unit_test(test_flag_forms_and_env),
        cmocka_unit_test(test_flag_wins_over_env),
        cmocka_unit_test(test_bad_values_name_the_option),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_help_lists_every_option_with_env_and_default),
        cmocka_unit_test(test_env_name),
        cmocka_unit_test(test_defaults_equal_the_modules_defaults),
        cmocka_unit_test(test_repeatable_options_and_booleans),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
