/* kong: the Admin API client. One libcurl easy handle per client (so one client per thread);
 * connections are kept alive between calls. Every call has a total and a connect timeout, and
 * every answer body a size cap. */
#include "kgc/kong.h"

#include "kgc/base.h"
#include "kgc/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#ifndef KGC_VERSION
#define KGC_VERSION "0.0.0"
#endif

struct kgc_kong_client {
    char url[KGC_KONG_URL_MAX];      /* normalised admin URL, no trailing slash */
    CURL *curl;                      /* the easy handle; its connection cache is reused */
    struct curl_slist *get_headers;  /* Accept, User-Agent, extra headers */
    struct curl_slist *post_headers; /* the same plus "Expect:" (no 100-continue round trip) */
    char *ca_file, *cert_file, *key_file;
    char *username, *password;     /* from the URL's userinfo (wiped at free); NULL: none */
    char *server_name;             /* --kong-admin-tls-server-name on an https URL, else NULL */
    char *request_base;            /* https://SERVER-NAME:PORT[/prefix] when server_name */
    struct curl_slist *connect_to; /* "SERVER-NAME:PORT:HOST:PORT" when server_name */
    bool skip_verify;
    uint64_t request_timeout_ms, connect_timeout_ms, push_timeout_ms;
    uint64_t push_stall_ms, push_ms_per_mib;
    size_t max_root_body, max_reply_body;
    const volatile int *abort_flag; /* non-zero: abort the call in flight */
    /* the call in flight's progress (on_progress): stall_ms 0 = no stall rule */
    struct {
        uint64_t stall_ms, last_move_ns;
        curl_off_t ul, dl;
        bool stalled;     /* aborted because nothing moved for stall_ms */
        uint64_t sent_ns; /* the whole request body was sent (0: not yet, or no body) */
    } prog;
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail for the last failure */
};

/* A growing answer buffer with a hard cap. */
struct body {
    struct kgc_base_buf text; /* the answer; err KGC_E2BIG: it exceeded the cap, the transfer was
                                 cut */
    CURL *skip_2xx;           /* set: a 2xx answer of this handle is not read at all */
    bool done_2xx;            /* skip_2xx saw a 2xx status: the transfer was cut on purpose */
};

struct reply {
    struct body body;
    char retry_after[32];
};

void kgc_kong_client_options_default(struct kgc_kong_client_options *o)
{
    memset(o, 0, sizeof(*o));
    o->request_timeout_ms = 2000;
    o->connect_timeout_ms = 1000;
    o->push_timeout_ms = KGC_KONG_PUSH_TIMEOUT_MS;
    o->push_stall_ms = KGC_KONG_PUSH_STALL_MS;
    o->push_ms_per_mib = KGC_KONG_PUSH_MS_PER_MIB;
    o->max_root_body = KGC_KONG_MAX_ROOT_BODY;
    o->max_reply_body = KGC_KONG_MAX_REPLY_BODY;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    long status = 0;
    if (b->skip_2xx &&
        curl_easy_getinfo(b->skip_2xx, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status >= 200 && status < 300) {
        /* The status is all kgc needs of a 2xx: stop here rather than read an answer that may
         * never end. perform() reports the cut transfer as the success it is. */
        b->done_2xx = true;
        return 0;
    }
    /* Over the cap or out of memory: 0 is CURLE_WRITE_ERROR, the transfer stops here. */
    return kgc_base_buf_add(&b->text, data, n) == 0 ? n : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct reply *r = arg;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        size_t len = n - 12;
        if (len >= sizeof(r->retry_after))
            len = sizeof(r->retry_after) - 1;
        memcpy(r->retry_after, data + 12, len);
        r->retry_after[len] = '\0';
        r->retry_after[strcspn(r->retry_after, "\r\n")] = '\0';
    }
    return n;
}

/* libcurl calls it at least once a second, and at every byte block. It aborts on the abort flag,
 * and (stall_ms) when no byte moved either way for stall_ms while the request is being sent or
 * the answer read: a peer that stopped reading (or writing). The wait between the last byte sent
 * and the first byte of the answer is Kong loading the configuration: only the overall timeout
 * bounds it (libcurl's own CURLOPT_LOW_SPEED_LIMIT would count that wait as a stall). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    struct kgc_kong_client *c = arg;
    if (c->abort_flag && __atomic_load_n(c->abort_flag, __ATOMIC_RELAXED))
        return 1;
    uint64_t now = kgc_clock_now(NULL);
    if (ultotal > 0 && ulnow >= ultotal && !c->prog.sent_ns)
        c->prog.sent_ns = now;
    if (!c->prog.stall_ms)
        return 0;
    if (ulnow != c->prog.ul || dlnow != c->prog.dl || !c->prog.last_move_ns) {
        c->prog.ul = ulnow;
        c->prog.dl = dlnow;
        c->prog.last_move_ns = now;
        return 0;
    }
    bool loading = ultotal > 0 && ulnow >= ultotal && dlnow == 0;
    if (!loading && now - c->prog.last_move_ns > c->prog.stall_ms * KGC_NS_PER_MS) {
        c->prog.stalled = true;
        return 1;
    }
    return 0;
}

static int append(struct curl_slist **l, const char *line)
{
    struct curl_slist *t = curl_slist_append(*l, line);
    if (!t)
        return KGC_ENOMEM;
    *l = t;
    return 0;
}

/* "K:V" → "K: V" (or "K;" for an empty value, which is how libcurl sends an empty header).
 * Returns 0 or KGC_EUSAGE. Messages never show the value (usually a token), nor a malformed
 * option's text (it may be a token with its colon missing): only the option's position and, when
 * the name is well-formed, the name. */
static int header_line(const char *kv, size_t idx, char *out, size_t size, struct kgc_err *err)
{
    const char *colon = strchr(kv, ':');
    if (!colon || colon == kv)
        return kgc_err_set(err, KGC_EUSAGE,
                           "--kong-admin-header #%zu: expected Name:Value (the value is not shown)",
                           idx + 1);
    for (const char *p = kv; p < colon; p++)
        if (!strchr("!#$%&'*+-.^_`|~", *p) &&
            !((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return kgc_err_set(err, KGC_EUSAGE,
                               "--kong-admin-header #%zu: bad character in the header name (the "
                               "text is not shown)",
                               idx + 1);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < ' ' && *p != '\t')
            return kgc_err_set(err, KGC_EUSAGE,
                               "--kong-admin-header %.*s: control character in the value",
                               (int)(colon - kv > 100 ? 100 : colon - kv), kv);
    int n = *v ? snprintf(out, size, "%.*s: %s", (int)(colon - kv), kv, v)
               : snprintf(out, size, "%.*s;", (int)(colon - kv), kv);
    if (n < 0 || (size_t)n >= size)
        return kgc_err_set(err, KGC_EUSAGE, "--kong-admin-header %.*s: too long",
                           (int)(colon - kv > 100 ? 100 : colon - kv), kv);
    return 0;
}

/* The credentials of the client's URL: admin_url's own userinfo, else that of the
 * credential_urls entry with the same display URL. */
static int set_credentials(struct kgc_kong_client *c, const char *admin_url,
                           const struct kgc_kong_client_options *o, struct kgc_err *err)
{
    char disp[KGC_KONG_URL_MAX], ui[KGC_KONG_URL_MAX];
    int rc = kgc_kong_url_split(admin_url, c->url, ui, err);
    for (size_t i = 0; rc == 0 && !ui[0] && i < o->n_credential_urls; i++) {
        struct kgc_err e2 = {0};
        if (kgc_kong_url_split(o->credential_urls[i], disp, ui, &e2) != 0 ||
            strcmp(disp, c->url) != 0)
            ui[0] = '\0';
    }
    if (rc == 0 && ui[0]) {
        char user[KGC_KONG_URL_MAX], pass[KGC_KONG_URL_MAX];
        kgc_kong_userinfo_decode(ui, user, pass);
        c->username = strdup(user);
        c->password = strdup(pass);
        explicit_bzero(user, sizeof(user));
        explicit_bzero(pass, sizeof(pass));
        if (!c->username || !c->password)
            rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    explicit_bzero(ui, sizeof(ui));
    return rc;
}

/* --kong-admin-tls-server-name on an https URL: the request URL names the server name, and
 * CONNECT_TO maps it to the URL's host and port. */
static int set_server_name(struct kgc_kong_client *c, const char *name, struct kgc_err *err)
{
    if (!name || !name[0] || strncmp(c->url, "https://", 8) != 0)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return kgc_err_set(err, KGC_EUSAGE,
                               "--kong-admin-tls-server-name \"%.100s\": not a DNS name", name);
    const char *host = c->url + 8;
    size_t hl;
    if (host[0] == '[') {
        const char *rb = strchr(host, ']');
        if (!rb)
            return kgc_err_set(err, KGC_EUSAGE, "kong admin URL %s: unterminated IPv6 address",
                               c->url);
        hl = (size_t)(rb - host) + 1;
    } else {
        hl = strcspn(host, ":/");
    }
    const char *port = "443";
    size_t pl = 3;
    const char *rest = host + hl;
    if (*rest == ':') {
        port = rest + 1;
        pl = strcspn(port, "/");
        rest = port + pl;
    }
    size_t n = strlen(name) + pl + strlen(rest) + 16;
    char *line = malloc(strlen(name) + pl + hl + pl + 8);
    c->request_base = malloc(n);
    c->server_name = strdup(name);
    if (!line || !c->request_base || !c->server_name) {
        free(line);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    snprintf(c->request_base, n, "https://%s:%.*s%s", name, (int)pl, port, rest);
    sprintf(line, "%s:%.*s:%.*s:%.*s", name, (int)pl, port, (int)hl, host, (int)pl, port);
    int rc = append(&c->connect_to, line);
    free(line);
    return rc ? kgc_err_set(err, rc, "out of memory") : 0;
}

static int check_file(const char *path, const char *flag, char **copy, struct kgc_err *err)
{
    *copy = NULL;
    if (!path || !path[0])
        return 0;
    if (access(path, R_OK) != 0)
        return kgc_err_set(err, KGC_EUSAGE, "%s %s: %s", flag, path, strerror(errno));
    *copy = strdup(path);
    return *copy ? 0 : kgc_err_set(err, KGC_ENOMEM, "out of memory");
}

int kgc_kong_client_new(const char *admin_url, const struct kgc_kong_client_options *o,
                        struct kgc_kong_client **out, struct kgc_err *err)
{
    struct kgc_kong_client_options def;
    if (!o) {
        kgc_kong_client_options_default(&def);
        o = &def;
    }
    *out = NULL;
    struct kgc_kong_client *c = calloc(1, sizeof(*c));
    if (!c)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    int rc = set_credentials(c, admin_url, o, err);
    if (rc || (rc = set_server_name(c, o->tls_server_name, err)))
        goto out_free;
    if ((rc = check_file(o->ca_file, "--kong-admin-ca-file", &c->ca_file, err)) ||
        (rc = check_file(o->cert_file, "--kong-admin-cert-file", &c->cert_file, err)) ||
        (rc = check_file(o->key_file, "--kong-admin-key-file", &c->key_file, err)))
        goto out_free;
    c->skip_verify = o->tls_skip_verify;
    c->request_timeout_ms = o->request_timeout_ms ? o->request_timeout_ms : 2000;
    c->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 1000;
    c->push_timeout_ms = o->push_timeout_ms ? o->push_timeout_ms : KGC_KONG_PUSH_TIMEOUT_MS;
    c->push_stall_ms = o->push_stall_ms;
    c->push_ms_per_mib = o->push_ms_per_mib;
    c->max_root_body = o->max_root_body ? o->max_root_body : KGC_KONG_MAX_ROOT_BODY;
    c->max_reply_body = o->max_reply_body ? o->max_reply_body : KGC_KONG_MAX_REPLY_BODY;

    rc = KGC_ENOMEM;
    if (append(&c->get_headers, "Accept: application/json") ||
        append(&c->get_headers, "User-Agent: kgc/" KGC_VERSION) ||
        append(&c->post_headers, "Accept: application/json") ||
        append(&c->post_headers, "User-Agent: kgc/" KGC_VERSION) ||
        append(&c->post_headers, "Expect:")) {
        kgc_err_set(err, rc, "out of memory");
        goto out_free;
    }
    for (size_t i = 0; i < o->n_headers; i++) {
        char line[4096];
        rc = header_line(o->headers[i], i, line, sizeof(line), err);
        if (!rc && ((rc = append(&c->get_headers, line)) || (rc = append(&c->post_headers, line))))
            kgc_err_set(err, rc, "out of memory");
        explicit_bzero(line, sizeof(line));
        if (rc)
            goto out_free;
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        rc = kgc_err_set(err, KGC_ENOMEM, "curl_easy_init failed");
        goto out_free;
    }
    *out = c;
    return 0;
out_free:
    kgc_kong_client_free(c);
    return rc;
}

void kgc_kong_client_free(struct kgc_kong_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->get_headers);
    curl_slist_free_all(c->post_headers);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    if (c->username)
        explicit_bzero(c->username, strlen(c->username));
    if (c->password)
        explicit_bzero(c->password, strlen(c->password));
    free(c->username);
    free(c->password);
    free(c->server_name);
    free(c->request_base);
    curl_slist_free_all(c->connect_to);
    free(c);
}

const char *kgc_kong_client_url(const struct kgc_kong_client *c)
{
    return c->url;
}

void kgc_kong_client_set_abort_flag(struct kgc_kong_client *c, const volatile int *flag)
{
    c->abort_flag = flag;
}

/* Maps a libcurl failure to a kgc code and a message naming the call. */
static int curl_failure(struct kgc_kong_client *c, CURLcode res, const char *what,
                        uint64_t timeout_ms, const struct body *b, struct kgc_err *err)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        return kgc_err_set(err, KGC_ETIMEDOUT, "%s on %s: timed out after %llu ms (%s)", what,
                           c->url, (unsigned long long)timeout_ms, detail);
    case CURLE_WRITE_ERROR:
        if (b->text.err == KGC_E2BIG)
            return kgc_err_set(err, KGC_E2BIG, "%s on %s: answer larger than %zu bytes", what,
                               c->url, b->text.max - 1);
        return kgc_err_set(err, KGC_ENOMEM, "%s on %s: out of memory reading the answer", what,
                           c->url);
    case CURLE_ABORTED_BY_CALLBACK:
        if (c->prog.stalled)
            return kgc_err_set(err, KGC_ETIMEDOUT,
                               "%s on %s: stalled, no byte moved for %llu ms (Kong is not "
                               "reading or answering)",
                               what, c->url, (unsigned long long)c->prog.stall_ms);
        return kgc_err_set(err, KGC_ESHUTDOWN, "%s on %s: aborted (shutting down)", what, c->url);
    case CURLE_OUT_OF_MEMORY:
        return kgc_err_set(err, KGC_ENOMEM, "%s on %s: out of memory", what, c->url);
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
        return kgc_err_set(err, KGC_EUSAGE, "%s on %s: TLS setup: %s", what, c->url, detail);
    default:
        return kgc_err_set(err, KGC_ECONNECT, "%s on %s: %s", what, c->url, detail);
    }
}

/* One request: a GET, or a POST of form (multipart/form-data) when not NULL. path starts with '/'.
 * On 0, *status holds the HTTP status and r->body the answer (empty for a POST's 2xx; the caller
 * frees r->body.text, also on failure). */
static int perform(struct kgc_kong_client *c, const char *what, const char *path, curl_mime *form,
                   uint64_t timeout_ms, uint64_t stall_ms, size_t max, long *status,
                   struct reply *r, struct kgc_err *err)
{
    char url[KGC_KONG_URL_MAX + 128];
    *status = 0;
    memset(r, 0, sizeof(*r));
    kgc_base_buf_init(&r->body.text, max + 1); /* max bytes of answer and a NUL */
    /* Kong's 201 to POST /config lists every entity it loaded (tens of MB for 10k routes) and
     * kgc needs none of it: the transfer stops at its first byte. */
    r->body.skip_2xx = form ? c->curl : NULL;
    if (snprintf(url, sizeof(url), "%s%s", c->request_base ? c->request_base : c->url, path) >=
        (int)sizeof(url))
        return kgc_err_set(err, KGC_EINVAL, "%s: URL too long", what);
    uint64_t connect_ms = c->connect_timeout_ms < timeout_ms ? c->connect_timeout_ms : timeout_ms;

    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the connection cache */
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, form ? c->post_headers : c->get_headers);
    memset(&c->prog, 0, sizeof(c->prog));
    c->prog.stall_ms = stall_ms;
    if (c->abort_flag || stall_ms || form) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c);
    }
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    if (c->username) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
    }
    if (c->connect_to)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->skip_verify ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->skip_verify ? 0L : 2L);
    if (form) {
        curl_easy_setopt(h, CURLOPT_MIMEPOST, form); /* a POST; libcurl sets the Content-Type */
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode res = curl_easy_perform(h);
    /* Cut on purpose: a push's 2xx (not read), or a push's error answer past the cap (its first
     * max bytes are kept: the status is known, the parser reads what fits). */
    bool cut_ok =
        res == CURLE_WRITE_ERROR && (r->body.done_2xx || (form && r->body.text.err == KGC_E2BIG));
    if (res != CURLE_OK && !cut_ok)
        return curl_failure(c, res, what, timeout_ms, &r->body, err);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

/* A printable excerpt of an answer for error messages. */
static void excerpt(const struct body *b, char *out, size_t size)
{
    size_t n = b->text.len < size - 1 ? b->text.len : size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b->text.s[i];
        out[i] = ch < ' ' || ch == 0x7f ? ' ' : (char)ch;
    }
    out[n] = '\0';
}

int kgc_kong_client_get_root(struct kgc_kong_client *c, struct kgc_kong_info *out,
                             long *http_status, struct kgc_err *err)
{
    long status = 0;
    struct reply r;
    memset(out, 0, sizeof(*out));
    int rc = perform(c, "GET /", "/", NULL, c->request_timeout_ms, 0, c->max_root_body, &status, &r,
                     err);
    if (http_status)
        *http_status = status;
    if (rc == 0 && status != 200) {
        char ex[160];
        excerpt(&r.body, ex, sizeof(ex));
        rc = kgc_err_set(err, KGC_EHTTP, "GET / on %s: HTTP %ld: %s", c->url, status, ex);
    } else if (rc == 0) {
        rc = kgc_kong_parse_root(r.body.text.s, r.body.text.len, out, err);
        if (rc)
            kgc_err_wrap(err, "%s", c->url);
    }
    kgc_base_buf_free(&r.body.text);
    return rc;
}

int kgc_kong_client_get_status(struct kgc_kong_client *c, char hash[KGC_KONG_HASH_LEN + 1],
                               long *http_status, struct kgc_err *err)
{
    long status = 0;
    struct reply r;
    hash[0] = '\0';
    size_t max =
        c->max_reply_body < KGC_KONG_MAX_STATUS_BODY ? c->max_reply_body : KGC_KONG_MAX_STATUS_BODY;
    int rc =
        perform(c, "GET /status", "/status", NULL, c->request_timeout_ms, 0, max, &status, &r, err);
    if (http_status)
        *http_status = status;
    if (rc == 0 && status != 200) {
        char ex[160];
        excerpt(&r.body, ex, sizeof(ex));
        rc = kgc_err_set(err, KGC_EHTTP, "GET /status on %s: HTTP %ld: %s", c->url, status, ex);
    } else if (rc == 0) {
        rc = kgc_kong_parse_status(r.body.text.s, r.body.text.len, hash, err);
        if (rc)
            kgc_err_wrap(err, "%s", c->url);
    }
    kgc_base_buf_free(&r.body.text);
    return rc;
}

/* The configuration text handed to libcurl part by part: libcurl reads it straight from the
 * caller's buffer, so a push costs no copy of the text. */
struct upload {
    const char *p;
    size_t len, off;
};

static size_t on_upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t n = size * nitems;
    if (n > u->len - u->off)
        n = u->len - u->off;
    memcpy(buf, u->p + u->off, n);
    u->off += n;
    return n;
}

/* libcurl rewinds the part when it resends the request (a kept-alive connection found dead). */
static int on_upload_seek(void *arg, curl_off_t offset, int origin)
{
    struct upload *u = arg;
    curl_off_t base = origin == SEEK_SET   ? 0
                      : origin == SEEK_CUR ? (curl_off_t)u->off
                      : origin == SEEK_END ? (curl_off_t)u->len
                                           : -1;
    if (base < 0 || offset < -base || offset > (curl_off_t)u->len - base)
        return CURL_SEEKFUNC_FAIL;
    u->off = (size_t)(base + offset);
    return CURL_SEEKFUNC_OK;
}

uint64_t kgc_kong_push_timeout_ms(uint64_t base_ms, uint64_t ms_per_mib, size_t len)
{
    /* rounded up to whole MiB: a 1-byte text gets one MiB's allowance */
    uint64_t mib = ((uint64_t)len + (1u << 20) - 1) >> 20;
    return base_ms + mib * ms_per_mib;
}

int kgc_kong_push_config(struct kgc_kong_client *c, const char *config_text, size_t len,
                         struct kgc_kong_push_result *out, struct kgc_err *err)
{
    return kgc_kong_push_config_hashed(c, config_text, len, NULL, out, err);
}

int kgc_kong_push_config_hashed(struct kgc_kong_client *c, const char *config_text, size_t len,
                                const char *hash, struct kgc_kong_push_result *out,
                                struct kgc_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > (size_t)INT32_MAX)
        return kgc_err_set(err, KGC_E2BIG, "POST /config: configuration of %zu bytes", len);
    /* multipart/form-data with one field, config = the text (curl -F config=@kong.yml): Kong
     * hashes the field's text as it does the string form, and the part is streamed from
     * config_text, never copied or escaped. */
    struct upload up = {.p = config_text, .len = len, .off = 0};
    curl_mime *form = curl_mime_init(c->curl);
    curl_mimepart *part = form ? curl_mime_addpart(form) : NULL;
    if (!part || curl_mime_name(part, "config") != CURLE_OK ||
        curl_mime_data_cb(part, (curl_off_t)len, on_upload_read, on_upload_seek, NULL, &up) !=
            CURLE_OK) {
        curl_mime_free(form);
        return kgc_err_set(err, KGC_ENOMEM, "POST /config: out of memory");
    }
    long status = 0;
    struct reply r;
    int rc = perform(c, "POST /config", "/config?check_hash=1&flatten_errors=1", form,
                     kgc_kong_push_timeout_ms(c->push_timeout_ms, c->push_ms_per_mib, len),
                     c->push_stall_ms, c->max_reply_body, &status, &r, err);
    curl_mime_free(form);
    if (rc == 0)
        rc = kgc_kong_parse_push_reply(status, r.body.text.s, r.body.text.len,
                                       r.retry_after[0] ? r.retry_after : NULL, out, err);
    if (rc == 0) {
        if (hash)
            snprintf(out->hash, sizeof(out->hash), "%s", hash);
        else
            kgc_kong_config_hash(config_text, len, out->hash);
        out->sent_ns = c->prog.sent_ns;
    }
    kgc_base_buf_free(&r.body.text);
    return rc;
}
