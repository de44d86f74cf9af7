/* The test Kong's HTTP behaviour, in-process on a free port: root and listeners, status and
 * readiness, the hash and 304, multipart/form-data bodies, fault injection, size cap, audit log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/kong_fake.h"

#include <kgc/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

struct buf {
    char *p;
    size_t n;
};

struct reply {
    long status;
    json_object *json; /* parsed body, or NULL */
    char retry_after[32];
    char ctype[64]; /* the Content-Type answered */
    char raw[1024]; /* the body (truncated) */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) {
        return 0;
    }
    memcpy(np + b->n, data, n);
    b->p = np;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct reply *r = arg;
    size_t n = size * nmemb;
    if (n > 13 && strncasecmp(data, "Retry-After:", 12) == 0) {
        snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)(n - 13), data + 13);
        r->retry_after[strcspn(r->retry_after, "\r\n ")] = '\0';
    }
    if (n > 14 && strncasecmp(data, "Content-Type:", 13) == 0) {
        snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)(n - 14), data + 14);
        r->ctype[strcspn(r->ctype, "\r\n")] = '\0';
    }
    return n;
}

static struct reply http(struct kf_server *s, const char *method, const char *path,
                         const char *ctype, const char *body)
{
    struct reply r = {0};
    struct buf b = {0};
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", kf_server_port(s), path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    if (ctype) {
        char line[128];
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (b.p) {
        r.json = json_tokener_parse(b.p);
        snprintf(r.raw, sizeof(r.raw), "%s", b.p);
    }
    free(b.p);
    return r;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static struct kf_server *start(struct kf_server_options *o)
{
    struct kf_server *s = NULL;
    char err[256];
    int rc = kf_server_start(o, &s, err, sizeof(err));
    if (rc != 0) {
        print_message("start: %s\n", err);
    }
    assert_int_equal(rc, 0);
    return s;
}

/* One multipart/form-data part: data (len bytes) under name; with filename it is sent as curl -F
 * name=@file sends a file. */
struct part {
    const char *name;
    const char *data;
    size_t len;
    const char *filename;
    size_t off; /* read position, for chunked uploads */
};

static size_t part_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct part *p = arg;
    size_t n = size * nitems;
    n = n < p->len - p->off ? n : p->len - p->off;
    memcpy(buf, p->data + p->off, n);
    p->off += n;
    return n;
}

/* POST path as multipart/form-data (libcurl's mime API, as curl -F). chunked: sizes unknown to
 * libcurl, so no Content-Length (the server must bound the body as it arrives). */
static struct reply form_post(struct kf_server *s, const char *path, struct part *parts, size_t n,
                              bool chunked)
{
    struct reply r = {0};
    struct buf b = {0};
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", kf_server_port(s), path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_mime *form = curl_mime_init(c);
    assert_non_null(form);
    for (size_t i = 0; i < n; i++) {
        curl_mimepart *mp = curl_mime_addpart(form);
        assert_non_null(mp);
        curl_mime_name(mp, parts[i].name);
        parts[i].off = 0;
        if (chunked) {
            curl_mime_data_cb(mp, -1, part_read, NULL, NULL, &parts[i]);
        } else {
            curl_mime_data(mp, parts[i].data, parts[i].len);
        }
        if (parts[i].filename) {
            curl_mime_filename(mp, parts[i].filename);
            curl_mime_type(mp, "application/octet-stream");
        }
    }
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, form);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    /* a server that answers 413 early may close before the upload ends */
    assert_true(rc == CURLE_OK || rc == CURLE_SEND_ERROR);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    curl_mime_free(form);
    if (b.p) {
        r.json = json_tokener_parse(b.p);
    }
    free(b.p);
    return r;
}

static void assert_hash(struct kf_server *s, const char *text, size_t len)
{
    char md5[33];
    kf_md5_hex(text, len, md5);
    struct reply r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), md5);
    json_object_put(r.json);
}

static const char *DOC = "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":"
                         "\"example.com\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"]}]}]}";

static char *string_form(const char *doc)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "config", json_object_new_string(doc));
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

static void test_root_and_listeners(void **state)
{
    (void)state;
    struct kf_server_options o;
    kf_server_options_init(&o);
    o.node_id = "69d063c5-761b-4bab-a426-c89da49a9409";
    struct kf_server *s = start(&o);
    struct reply r = http(s, "GET", "/", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "node_id"), o.node_id);
    assert_string_equal(jstr(r.json, "version"), "3.9.1");
    json_object *conf = json_object_object_get(r.json, "configuration");
    assert_string_equal(jstr(conf, "database"), "off");
    assert_string_equal(jstr(conf, "router_flavor"), "traditional_compatible");
    json_object *pl = json_object_object_get(conf, "proxy_listeners");
    assert_int_equal(json_object_array_length(pl), 2);
    assert_int_equal(
        json_object_get_int(json_object_object_get(json_object_array_get_idx(pl, 1), "port")),
        8443);
    json_object_put(r.json);
    kf_server_stop(s);

    /* empty lists are encoded {} as Kong does */
    o.listeners_json = "{\"configuration\":{\"proxy_listeners\":[],\"stream_listeners\":{}}}";
    s = start(&o);
    r = http(s, "GET", "/", NULL, NULL);
    conf = json_object_object_get(r.json, "configuration");
    assert_true(
        json_object_is_type(json_object_object_get(conf, "proxy_listeners"), json_type_object));
    assert_true(
        json_object_is_type(json_object_object_get(conf, "stream_listeners"), json_type_object));
    json_object_put(r.json);
    kf_server_stop(s);
}

static void test_status_ready_hash_and_304(void **state)
{
    (void)state;
    struct kf_server_options o;
    kf_server_options_init(&o);
    struct kf_server *s = start(&o);
    struct reply r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), "00000000000000000000000000000000");
    json_object_put(r.json);
    r = http(s, "GET", "/status/ready", NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(jstr(r.json, "message"),
                        "no configuration available (empty configuration present)");
    json_object_put(r.json);
    r = http(s, "GET", "/config", NULL, NULL);
    assert_int_equal(r.status, 404);
    json_object_put(r.json);

    char *sf = string_form(DOC);
    r = http(s, "POST", "/config?check_hash=1", "application/json", sf);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    r = http(s, "POST", "/config?check_hash=1", "application/json", sf);
    assert_int_equal(r.status, 304);
    json_object_put(r.json);
    /* without check_hash the same string applies again */
    r = http(s, "POST", "/config", "application/json", sf);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    char md5[33];
    kf_md5_hex(DOC, strlen(DOC), md5);
    r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), md5);
    json_object_put(r.json);
    r = http(s, "GET", "/status/ready", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    r = http(s, "GET", "/config", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_object *svc = json_object_array_get_idx(
        json_object_object_get(json_object_object_get(r.json, "config"), "services"), 0);
    assert_string_equal(jstr(svc, "name"), "s");
    json_object_put(r.json);

    /* the document form always applies, hashed over its canonical encoding */
    r = http(s, "POST", "/config?check_hash=1", "application/json", DOC);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    r = http(s, "POST", "/config?check_hash=1", "application/json", DOC);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    json_object *d = json_tokener_parse(DOC);
    char *canon = kf_canonical_json(d);
    kf_md5_hex(canon, strlen(canon), md5);
    free(canon);
    json_object_put(d);
    r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), md5);
    json_object_put(r.json);

    /* a rejected push changes nothing */
    r = http(s, "POST", "/config?flatten_errors=1", "application/json",
             "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\"}]}");
    assert_int_equal(r.status, 400);
    assert_int_equal(json_object_array_length(json_object_object_get(r.json, "flattened_errors")),
                     1);
    json_object_put(r.json);
    r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), md5);
    json_object_put(r.json);
    free(sf);
    kf_server_stop(s);
}

/* nginx's page for 413/415 as Kong 3.9.1's OpenResty sends it (no server-tokens tail:
 * build/openresty/patches/nginx-1.25.3_02-remove-server-tokens-from-special-responses-output.patch)
 */
#define NGINX_PAGE(t)                                                                              \
    "<html>\r\n<head><title>" t "</title></head>\r\n<body>\r\n<center><h1>" t                      \
    "</h1></center>\r\n</body>\r\n</html>\r\n"

static void test_bodies_and_content_types(void **state)
{
    (void)state;
    struct kf_server_options o;
    kf_server_options_init(&o);
    /* nginx_admin_client_max_body_size = 10m (kong/templates/kong_defaults.lua:114) */
    assert_int_equal(o.max_body, (size_t)10 << 20);
    o.max_body = 1024;
    struct kf_server *s = start(&o);
    /* an empty JSON body is one Lapis cannot decode (kong/api/api_helpers.lua:311-317) */
    struct reply r = http(s, "POST", "/config", "application/json", "");
    assert_int_equal(r.status, 400);
    assert_string_equal(r.raw, "{\"message\":\"Cannot parse JSON body\"}");
    json_object_put(r.json);
    r = http(s, "POST", "/config", "application/json", "{\"_format_version\":");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "message"), "Cannot parse JSON body");
    json_object_put(r.json);
    /* no body at all (15-off_spec.lua:828-839) and an empty form: config.lua:49-58 */
    r = http(s, "POST", "/config", NULL, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.raw, "{\"message\":\"expected a declarative configuration\"}");
    json_object_put(r.json);
    r = http(s, "POST", "/config", "application/x-www-form-urlencoded", "");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "message"), "expected a declarative configuration");
    json_object_put(r.json);

    /* YAML bodies are accepted on /config (api_helpers.lua:236-238, 263-265;
     * 15-off_spec.lua:240-255) */
    const char *yaml = "_format_version: \"3.0\"\nservices:\n- name: y\n  host: example.com\n";
    r = http(s, "POST", "/config", "application/yaml", yaml);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    char md5[33];
    kf_md5_hex(yaml, strlen(yaml), md5);
    r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), md5);
    json_object_put(r.json);
    r = http(s, "POST", "/config", "text/yaml", yaml);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);

    /* over client_max_body_size: nginx's own 413 page */
    char *big = malloc(2048);
    memset(big, 'x', 2047);
    big[2047] = '\0';
    r = http(s, "POST", "/config", "application/json", big);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.raw, NGINX_PAGE("413 Request Entity Too Large"));
    assert_string_equal(r.ctype, "text/html");
    json_object_put(r.json);
    free(big);

    /* any other content type, or a body without one: 415 (api_helpers.lua:247-270) */
    r = http(s, "POST", "/config", "text/plain", "bobby tables");
    assert_int_equal(r.status, 415);
    assert_string_equal(r.raw, NGINX_PAGE("415 Unsupported Media Type"));
    assert_string_equal(r.ctype, "text/html");
    json_object_put(r.json);
    r = http(s, "POST", "/config", "Application/JSON", "{}"); /* the prefix test is exact */
    assert_int_equal(r.status, 415);
    json_object_put(r.json);

    /* 15-off_spec.lua:621-645: an invalid config string; the unparsable text never gets
     * flattened_errors (config.lua:61-63) */
    r = http(s, "POST", "/config?flatten_errors=1", "application/json",
             "{\"config\":\"bobby tables\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(
        r.raw, "{\"code\":14,\"name\":\"invalid declarative configuration\",\"message\":"
               "\"declarative config is invalid: {error=\\\"failed parsing declarative "
               "configuration: expected an object\\\"}\",\"fields\":{\"error\":\"failed parsing "
               "declarative configuration: expected an object\"}}");
    json_object_put(r.json);
    r = http(s, "DELETE", "/config", NULL, NULL);
    assert_int_equal(r.status, 405);
    json_object_put(r.json);
    r = http(s, "GET", "/nope", NULL, NULL);
    assert_int_equal(r.status, 404);
    json_object_put(r.json);
    kf_server_stop(s);
}

/* A configuration with no entities is stored with the hash 32 zeros, as after a restart
 * (kong/db/declarative/import.lua:270-273, 433-435): /status shows zeros, /status/ready stays 503
 * (kong/status/ready.lua:46-48), and check_hash never answers 304 for it (config.lua:132). */
static void test_empty_configuration_hash(void **state)
{
    (void)state;
    struct kf_server_options o;
    kf_server_options_init(&o);
    struct kf_server *s = start(&o);
    char *sf = string_form(DOC);
    struct reply r = http(s, "POST", "/config", "application/json", sf);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    free(sf);
    const char *empties[] = {"_format_version: \"3.0\"\n",
                             "{\"_format_version\":\"3.0\",\"services\":[],\"routes\":[]}"};
    for (size_t i = 0; i < 2; i++) {
        sf = string_form(empties[i]);
        for (int k = 0; k < 2; k++) {
            r = http(s, "POST", "/config?check_hash=1", "application/json", sf);
            assert_int_equal(r.status, 201);
            assert_string_equal(r.raw, "{}");
            json_object_put(r.json);
            r = http(s, "GET", "/status", NULL, NULL);
            assert_string_equal(jstr(r.json, "configuration_hash"),
                                "00000000000000000000000000000000");
            json_object_put(r.json);
            r = http(s, "GET", "/status/ready", NULL, NULL);
            assert_int_equal(r.status, 503);
            assert_string_equal(jstr(r.json, "message"),
                                "no configuration available (empty configuration present)");
            json_object_put(r.json);
        }
        free(sf);
    }
    /* the document form too */
    r = http(s, "POST", "/config", "application/json", "{\"_format_version\":\"3.0\"}");
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), "00000000000000000000000000000000");
    json_object_put(r.json);
    kf_server_stop(s);
}

/* GET / (kong/api/routes/kong.lua:74-147, 3.9.1): plugins.available_on_server maps every loaded
 * plugin to {version, priority} (its handler's VERSION and PRIORITY), enabled_in_cluster lists
 * the distinct names of the configured plugins (an empty list is [], cjson.array_mt). */
static void test_root_plugins(void **state)
{
    (void)state;
    struct kf_server_options o;
    kf_server_options_init(&o);
    struct kf_server *s = start(&o);
    struct reply r = http(s, "GET", "/", NULL, NULL);
    json_object *plugins = json_object_object_get(r.json, "plugins");
    json_object *avail = json_object_object_get(plugins, "available_on_server");
    /* kong/constants.lua:1-47: 45 bundled plugins */
    assert_int_equal(json_object_object_length(avail), 45);
    json_object *sw = json_object_object_get(avail, "standard-webhooks");
    assert_string_equal(jstr(sw, "version"), "3.9.1");
    assert_int_equal(json_object_get_int(json_object_object_get(sw, "priority")), 760);
    assert_int_equal(json_object_get_int(json_object_object_get(
                         json_object_object_get(avail, "post-function"), "priority")),
                     -1000);
    assert_int_equal(json_object_get_int(json_object_object_get(
                         json_object_object_get(avail, "ai-prompt-template"), "priority")),
                     773);
    json_object *enabled = json_object_object_get(plugins, "enabled_in_cluster");
    assert_true(json_object_is_type(enabled, json_type_array));
    assert_int_equal(json_object_array_length(enabled), 0);
    json_object_put(r.json);
    r = http(s, "POST", "/config", "application/json",
             "{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"cors\"},{\"name\":\"cors\","
             "\"service\":\"s\"}],\"services\":[{\"name\":\"s\",\"host\":\"x\"}]}");
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    r = http(s, "GET", "/", NULL, NULL);
    enabled =
        json_object_object_get(json_object_object_get(r.json, "plugins"), "enabled_in_cluster");
    assert_int_equal(json_object_array_length(enabled), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(enabled, 0)), "cors");
    json_object_put(r.json);
    kf_server_stop(s);
    o.router_flavor = "expressions";
    s = start(&o);
    r = http(s, "GET", "/", NULL, NULL);
    assert_string_equal(jstr(json_object_object_get(r.json, "configuration"), "router_flavor"),
                        "expressions");
    json_object_put(r.json);
    kf_server_stop(s);
}

/* multipart/form-data (curl -F config=@kong.yml): the config field is the string form; its text
 * arrives byte-exact whatever it holds, in as many chunks as it takes. */
static void test_multipart(void **state)
{
    (void)state;
    struct kf_server_options o;
    kf_server_options_init(&o);
    struct kf_server *s = start(&o);

    /* quotes, backslashes, CRLF, tabs, UTF-8, and a CRLF "--" line (a document start) much like a
     * part boundary */
    static const char yaml[] =
        "# \"quoted\" 'single' back\\slash \xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\r\n"
        "# \t--\r\n--- # ------------------------boundary-ish\r\n"
        "_format_version: \"3.0\"\r\n"
        "_comment: \"caf\xc3\xa9 \\\"x\\\" \\\\ \\n\"\n"
        "services:\n- name: m\n  host: example.com\n";
    struct part p[3] = {{.name = "config", .data = yaml, .len = sizeof(yaml) - 1}};
    struct reply r = form_post(s, "/config?check_hash=1", p, 1, false);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    assert_hash(s, yaml, sizeof(yaml) - 1);
    r = form_post(s, "/config?check_hash=1", p, 1, false);
    assert_int_equal(r.status, 304);
    json_object_put(r.json);
    r = form_post(s, "/config", p, 1, false); /* no check_hash: applies again */
    assert_int_equal(r.status, 201);
    json_object_put(r.json);

    /* as a file part (curl -F config=@file), check_hash as a form field, chunked */
    p[0].filename = "kong.yml";
    p[1] = (struct part){.name = "check_hash", .data = "1", .len = 1};
    r = form_post(s, "/config", p, 2, true);
    assert_int_equal(r.status, 304);
    json_object_put(r.json);

    /* a large text: many post-processor chunks, appended in order */
    size_t big_len = (size_t)3 << 20;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    static const char head[] = "{\"_format_version\":\"3.0\",\"_comment\":\"";
    static const char tail[] = "\",\"services\":[{\"name\":\"b\",\"host\":\"example.com\"}]}";
    static const char unit[] = "\\\"\xc3\xa9\\r\\n-- \\\\ ";
    memcpy(big, head, sizeof(head) - 1);
    size_t at = sizeof(head) - 1;
    while (at + sizeof(unit) - 1 + sizeof(tail) - 1 <= big_len) {
        memcpy(big + at, unit, sizeof(unit) - 1);
        at += sizeof(unit) - 1;
    }
    memcpy(big + at, tail, sizeof(tail));
    big_len = at + sizeof(tail) - 1;
    struct part bp[1] = {{.name = "config", .data = big, .len = big_len}};
    r = form_post(s, "/config?check_hash=1", bp, 1, true);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    assert_hash(s, big, big_len);
    r = form_post(s, "/config?check_hash=1", bp, 1, false);
    assert_int_equal(r.status, 304);
    json_object_put(r.json);

    /* rejected like the other forms; the hash stays */
    static const char bad[] = "_format_version: \"3.0\"\nservices:\n- name: s\n";
    struct part badp[2] = {{.name = "config", .data = bad, .len = sizeof(bad) - 1},
                           {.name = "flatten_errors", .data = "1", .len = 1}};
    r = form_post(s, "/config", badp, 2, false);
    assert_int_equal(r.status, 400);
    assert_int_equal(json_object_array_length(json_object_object_get(r.json, "flattened_errors")),
                     1);
    json_object_put(r.json);
    assert_hash(s, big, big_len);

    /* no config field; no boundary */
    struct part other[1] = {{.name = "something", .data = "x", .len = 1}};
    r = form_post(s, "/config", other, 1, false);
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "message"), "expected a declarative configuration");
    json_object_put(r.json);
    r = http(s, "POST", "/config", "multipart/form-data", "config=x");
    assert_int_equal(r.status, 400);
    json_object_put(r.json);
    assert_hash(s, big, big_len);
    kf_server_stop(s);

    /* over the cap: 413, with a Content-Length and without one */
    o.max_body = (size_t)1 << 20;
    s = start(&o);
    r = form_post(s, "/config", bp, 1, false);
    assert_int_equal(r.status, 413);
    json_object_put(r.json);
    r = form_post(s, "/config", bp, 1, true);
    assert_int_equal(r.status, 413);
    json_object_put(r.json);
    r = http(s, "GET", "/status", NULL, NULL);
    assert_string_equal(jstr(r.json, "configuration_hash"), "00000000000000000000000000000000");
    json_object_put(r.json);
    free(big);
    kf_server_stop(s);
}

static void test_fault_injection_and_audit(void **state)
{
    (void)state;
    char audit[] = "/tmp/kgc-fake-kong-audit-XXXXXX";
    int fd = mkstemp(audit);
    assert_true(fd >= 0);
    close(fd);
    struct kf_server_options o;
    kf_server_options_init(&o);
    o.fail_config = 1;
    o.fail_config_code = 429;
    o.audit_path = audit;
    struct kf_server *s = start(&o);
    struct reply r = http(s, "POST", "/config", "application/json", DOC);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.retry_after, "1");
    json_object_put(r.json);
    r = http(s, "POST", "/config", "application/json", DOC);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    r = http(s, "POST", "/_test/fail-config?n=2&code=503", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    r = http(s, "POST", "/config", "application/json", DOC);
    assert_int_equal(r.status, 503);
    json_object_put(r.json);
    r = http(s, "POST", "/_test/fail-config?n=1&code=400", NULL, NULL);
    json_object_put(r.json);
    r = http(s, "POST", "/config?flatten_errors=1", "application/json", DOC);
    assert_int_equal(r.status, 400);
    assert_int_equal(json_object_get_int(json_object_object_get(r.json, "code")), 14);
    json_object_put(r.json);
    r = http(s, "POST", "/config", "application/json", DOC);
    assert_int_equal(r.status, 201);
    json_object_put(r.json);
    kf_server_stop(s);

    FILE *f = fopen(audit, "r");
    assert_non_null(f);
    char line[512];
    int posts = 0, lines = 0;
    while (fgets(line, sizeof(line), f)) {
        json_object *l = json_tokener_parse(line);
        assert_non_null(l);
        assert_non_null(jstr(l, "time"));
        posts += strcmp(jstr(l, "method"), "POST") == 0 && strcmp(jstr(l, "path"), "/config") == 0;
        lines++;
        json_object_put(l);
    }
    fclose(f);
    unlink(audit);
    assert_int_equal(lines, 7);
    assert_int_equal(posts, 5);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_WARN, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_and_listeners),
        cmocka_unit_test(test_status_ready_hash_and_304),
        cmocka_unit_test(test_bodies_and_content_types),
        cmocka_unit_test(test_empty_configuration_hash),
        cmocka_unit_test(test_root_plugins),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_fault_injection_and_audit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
