/* Backend TLS: BackendTLSPolicy and a Gateway's spec.tls.backend.clientCertificateRef → the
 * Kong service's TLS fields (Kong 3.9.1, kong/db/schema/entities/services.lua:44-47:
 * client_certificate, tls_verify, tls_verify_depth, ca_certificates; allowed only with protocol
 * https or tls, :57-72), its upstream's host_header (the SNI, see below), ca_certificates
 * entities and client certificates. Calls context.c and kong_values.c only (and kgc/status.h's
 * shared rules, as the other files do).
 *
 * SNI: Kong connects with proxy_ssl_name $upstream_host and proxy_ssl_server_name on
 * (kong/templates/nginx_kong.lua:207-208), and nginx checks the certificate against that name
 * when verification is on (tls_verify, kong/runloop/upstream_ssl.lua:44-50). $upstream_host is
 * the Host header sent upstream: the upstream's host_header when set and the route does not
 * preserve the host (kong/runloop/balancer/init.lua:395-396, 440-467). So a service with a
 * policy has an upstream with host_header = validation.hostname and Kong routes with
 * preserve_host false: the backend sees validation.hostname (with ":port" unless 443) as Host,
 * not the client's (a known gap: Kong 3.9 has no separate SNI field).
 *
 * CA certificates: one ca_certificates entity per certificate of a valid CA ConfigMap (Kong
 * takes one certificate per entity, it must be a CA and unexpired: kong/db/schema/entities/
 * ca_certificates.lua:41-64), with an id derived from its DER bytes so that every service using
 * it names the same entity (services.lua:47: an array of uuids) and a bundle shared by several
 * policies is sent once. Kong does not check at load time that those ids exist; a missing one is
 * logged and the default trust store is used instead (kong/runloop/upstream_ssl.lua:66-72), so
 * kgc only names ids it emits. */
#include "translate_internal.h"

#include "kgc/digest.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CA bundles ------------------------------------------------------------------------------ */

struct ca_cert {
    char id[37];
    char *pem; /* one certificate, re-encoded (owned) */
};

/* The certificates of a CA bundle Kong would take, in bundle order, into *out (malloc'd, *n).
 * Certificates Kong refuses (not a CA, expired) are left out; their count goes to *skipped. */
static void bundle_certs(struct tr_ctx *c, const char *pem, struct ca_cert **out, size_t *n,
                         unsigned *skipped)
{
    *out = NULL;
    *n = 0;
    *skipped = 0;
    size_t len = strlen(pem);
    BIO *in = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
    if (!in) {
        c->oom = true;
        return;
    }
    for (;;) {
        X509 *x = PEM_read_bio_X509(in, NULL, NULL, NULL);
        if (!x)
            break;
        bool ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
        bool live = X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
        unsigned char *der = NULL;
        int dlen = ca && live ? i2d_X509(x, &der) : -1;
        BIO *o = dlen > 0 ? BIO_new(BIO_s_mem()) : NULL;
        char *text = NULL;
        long tlen = 0;
        if (o && PEM_write_bio_X509(o, x) == 1 && (tlen = BIO_get_mem_data(o, &text)) > 0) {
            struct ca_cert *grown = realloc(*out, (*n + 1) * sizeof(**out));
            char *copy = grown ? strndup(text, (size_t)tlen) : NULL;
            if (!grown || !copy) {
                free(copy);
                if (grown)
                    *out = grown;
                c->oom = true;
            } else {
                *out = grown;
                char md5[KGC_DIGEST_MD5_HEX_LEN + 1];
                kgc_digest_md5_hex(der, (size_t)dlen, md5);
                snprintf((*out)[*n].id, sizeof((*out)[*n].id), "%.8s-%.4s-%.4s-%.4s-%.12s", md5,
                         md5 + 8, md5 + 12, md5 + 16, md5 + 20);
                (*out)[*n].pem = copy;
                (*n)++;
            }
        } else if (!(ca && live)) {
            (*skipped)++;
        }
        BIO_free(o);
        OPENSSL_free(der);
        X509_free(x);
    }
    BIO_free(in);
    ERR_clear_error();
}

static void certs_free(struct ca_cert *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].pem);
    free(v);
}

/* The valid CA ConfigMaps of policy p, in caCertificateRefs order (references appended to out). */
static void policy_configmaps(struct tr_ctx *c, const struct kgc_api_backendtlspolicy *p,
                              struct kgc_base_vec *out)
{
    for (uint32_t i = 0; i < p->n_ca_certificate_refs; i++) {
        const struct kgc_api_object_ref *r = &p->ca_certificate_refs[i];
        if ((r->group && r->group[0] && strcmp(r->group, "core") != 0) || !r->kind ||
            strcmp(r->kind, "ConfigMap") != 0 || !r->name || !c->lk->get)
            continue;
        const struct kgc_api_obj *o =
            c->lk->get(c->lk->ctx, KGC_API_CONFIGMAP, p->obj.meta.namespace, r->name);
        const struct kgc_api_configmap *cm = kgc_api_as_configmap(o);
        if (!cm || !cm->ca_valid || kgc_base_vec_push(out, (void *)o) != 0)
            kgc_api_obj_unref(o);
    }
}

/* ---- planning -------------------------------------------------------------------------------- */

const struct kgc_api_backendtlspolicy *tr_backend_policy(struct tr_ctx *c, const char *ns,
                                                         const char *svc, const char *port_name,
                                                         char *why, size_t why_size)
{
    why[0] = '\0';
    const struct kgc_api_backendtlspolicy *p =
        kgc_status_backendtls_for_port(c->lk, ns, svc, port_name);
    if (!p)
        return NULL;
    struct kgc_status_backendtls_eval ev;
    kgc_status_backendtls_evaluate(c->lk, p, &ev);
    if (!ev.usable)
        snprintf(why, why_size, "BackendTLSPolicy %s cannot be applied: %s", p->obj.meta.name,
                 ev.accepted_reason ? ev.accepted_message : ev.kong_limit);
    else if (!tr_hostname(p->hostname, false))
        snprintf(why, why_size, "BackendTLSPolicy %s: validation.hostname is not a hostname",
                 p->obj.meta.name);
    if (why[0] || !p->n_ca_certificate_refs)
        return p;
    /* Kong must get at least one trust anchor, or tls_verify would fall back to its default
     * store (upstream_ssl.lua:66-72): certificates expired since the ConfigMap was read are
     * left out by tr_backend_tls_ca_certificates */
    struct kgc_base_vec cms = {0};
    policy_configmaps(c, p, &cms);
    size_t usable = 0;
    for (size_t i = 0; i < cms.n && !c->oom && !usable; i++) {
        struct ca_cert *certs = NULL;
        unsigned skipped = 0;
        bundle_certs(c, kgc_api_as_configmap(cms.v[i])->ca_crt, &certs, &usable, &skipped);
        certs_free(certs, usable);
    }
    tr_release_all(&cms);
    if (!usable)
        snprintf(why, why_size,
                 "BackendTLSPolicy %s: no CA certificate of its ConfigMaps is valid now "
                 "(expired?)",
                 p->obj.meta.name);
    return p;
}

const struct kgc_api_obj *tr_backend_client_secret(struct tr_ctx *c,
                                                   const struct kgc_api_httproute *route)
{
    struct kgc_status_attachment *att = NULL;
    size_t n = 0;
    if (kgc_status_httproute_attachments(&c->so, c->lk, route, &att, &n, NULL) != 0) {
        c->oom = true;
        return NULL;
    }
    const struct kgc_api_obj *found = NULL;
    for (size_t i = 0; i < n && !found; i++) {
        const struct kgc_api_obj *o =
            tr_gateway_get(c, att[i].gateway_namespace, att[i].gateway_name);
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(o);
        char why[KGC_STATUS_MSG_MAX];
        if (gw)
            kgc_status_gateway_client_certificate(c->lk, gw, &found, why, sizeof(why));
        kgc_api_obj_unref(o);
    }
    free(att);
    return found;
}

/* ---- writing --------------------------------------------------------------------------------- */

/* The id of the certificate entity kgc writes for client certificate Secret s. */
static void client_cert_id(const struct kgc_api_secret *s, char out[37])
{
    char md5[KGC_DIGEST_MD5_HEX_LEN + 1];
    char *k = NULL;
    if (asprintf(&k, "kgc-client-certificate|%s|%s", s->obj.meta.key, s->tls_crt_pem) < 0) {
        snprintf(out, 37, "00000000-0000-0000-0000-000000000000");
        return;
    }
    kgc_digest_md5_hex(k, strlen(k), md5);
    free(k);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", md5, md5 + 8, md5 + 12, md5 + 16, md5 + 20);
}

void tr_backend_tls_service(struct tr_ctx *c, const struct tr_svc *v, json_object *svc)
{
    const struct kgc_api_backendtlspolicy *p = v->tls;
    if (!p)
        return;
    tr_jset(c, svc, "protocol", tr_jstr(c, "https"));
    tr_jset(c, svc, "tls_verify", json_object_new_boolean(1));
    if (v->client_secret) {
        char id[37];
        client_cert_id(kgc_api_as_secret(v->client_secret), id);
        json_object *ref = tr_jobj(c);
        tr_jset(c, ref, "id", tr_jstr(c, id));
        tr_jset(c, svc, "client_certificate", ref);
    }
    struct kgc_base_vec cms = {0};
    policy_configmaps(c, p, &cms);
    json_object *ids = tr_jarr(c);
    size_t total = 0;
    for (size_t i = 0; i < cms.n && !c->oom; i++) {
        struct ca_cert *certs = NULL;
        size_t n = 0;
        unsigned skipped = 0;
        bundle_certs(c, kgc_api_as_configmap(cms.v[i])->ca_crt, &certs, &n, &skipped);
        for (size_t k = 0; k < n; k++)
            tr_jpush(c, ids, tr_jstr(c, certs[k].id));
        total += n;
        certs_free(certs, n);
    }
    tr_release_all(&cms);
    /* nginx verifies at most depth 1 by default (proxy_ssl_verify_depth; Kong sets it only from
     * tls_verify_depth, upstream_ssl.lua:52-59): a bundle with intermediates needs more */
    if (total > 1)
        tr_jset(c, svc, "tls_verify_depth", tr_jint(c, total > 64 ? 64 : (int64_t)total));
    if (total)
        tr_jset(c, svc, "ca_certificates", ids);
    else
        json_object_put(ids); /* wellKnownCACertificates System: Kong's default trust store */
}

void tr_backend_tls_upstream(struct tr_ctx *c, const struct tr_svc *v, json_object *upstream)
{
    if (v->tls && v->tls->hostname)
        tr_jset(c, upstream, "host_header", tr_jstr(c, v->tls->hostname));
}

static int cmp_ca(const void *a, const void *b)
{
    return strcmp(((const struct ca_cert *)a)->id, ((const struct ca_cert *)b)->id);
}

json_object *tr_backend_tls_ca_certificates(struct tr_ctx *c)
{
    struct kgc_base_vec policies = {0};
    tr_collect(c, KGC_API_BACKENDTLSPOLICY, &policies);
    struct ca_cert *all = NULL;
    size_t n_all = 0;
    struct kgc_base_vec owners = {0}; /* the ConfigMap of each of all[] (borrowed from cms) */
    struct kgc_base_vec cms = {0};
    for (size_t i = 0; i < policies.n && !c->oom; i++)
        policy_configmaps(c, kgc_api_as_backendtlspolicy(policies.v[i]), &cms);
    for (size_t i = 0; i < cms.n && !c->oom; i++) {
        const struct kgc_api_configmap *cm = kgc_api_as_configmap(cms.v[i]);
        struct ca_cert *certs = NULL;
        size_t n = 0;
        unsigned skipped = 0;
        bundle_certs(c, cm->ca_crt, &certs, &n, &skipped);
        if (skipped)
            tr_problem(c, KGC_API_CONFIGMAP, cm->obj.meta.namespace, cm->obj.meta.name, -1, -1,
                       KGC_TRANSLATE_NOTE,
                       "ConfigMap %s: %u certificate(s) of ca.crt are not CAs (basicConstraints "
                       "CA:TRUE) or have expired: Kong refuses them, left out",
                       cm->obj.meta.key, skipped);
        for (size_t k = 0; k < n && !c->oom; k++) {
            bool dup = false;
            for (size_t j = 0; j < n_all && !dup; j++)
                dup = strcmp(all[j].id, certs[k].id) == 0;
            if (dup) {
                free(certs[k].pem);
                continue;
            }
            struct ca_cert *grown = realloc(all, (n_all + 1) * sizeof(*all));
            if (!grown || kgc_base_vec_push(&owners, (void *)&cm->obj) != 0) {
                if (grown)
                    all = grown;
                free(certs[k].pem);
                c->oom = true;
                continue;
            }
            all = grown;
            all[n_all++] = certs[k];
        }
        free(certs);
    }
    /* sorted by id for stable bytes; each keeps the tags of the first ConfigMap (in policy key,
     * then caCertificateRefs, order) that holds it */
    json_object *arr = tr_jarr(c);
    struct {
        struct ca_cert cert;
        const struct kgc_api_obj *owner;
    } *sorted = n_all ? calloc(n_all, sizeof(*sorted)) : NULL;
    if (n_all && !sorted)
        c->oom = true;
    for (size_t i = 0; sorted && i < n_all; i++) {
        sorted[i].cert = all[i];
        sorted[i].owner = owners.v[i];
    }
    if (sorted)
        qsort(sorted, n_all, sizeof(*sorted), cmp_ca); /* the cert is the first member */
    for (size_t i = 0; sorted && i < n_all; i++) {
        json_object *o = tr_jobj(c);
        tr_jset(c, o, "id", tr_jstr(c, sorted[i].cert.id));
        tr_jset(c, o, "cert", tr_jstr(c, sorted[i].cert.pem));
        tr_jset(c, o, "tags", tr_obj_tags(c, KGC_API_CONFIGMAP, sorted[i].owner, -1, -1));
        tr_jpush(c, arr, o);
    }
    free(sorted);
    certs_free(all, n_all);
    kgc_base_vec_free(&owners);
    tr_release_all(&cms);
    tr_release_all(&policies);
    return arr;
}

void tr_backend_tls_client_certificates(struct tr_ctx *c, json_object *certificates)
{
    struct kgc_base_vec gateways = {0}, secrets = {0};
    tr_collect(c, KGC_API_GATEWAY, &gateways);
    for (size_t i = 0; i < gateways.n && !c->oom; i++) {
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(gateways.v[i]);
        if (!gw || !gw->backend_client_certificate_ref || !tr_gateway_owned(c, gw))
            continue;
        const struct kgc_api_obj *s = NULL;
        char why[KGC_STATUS_MSG_MAX];
        if (kgc_status_gateway_client_certificate(c->lk, gw, &s, why, sizeof(why)) || !s)
            continue; /* the Gateway's ResolvedRefs says why */
        bool dup = false;
        for (size_t k = 0; k < secrets.n && !dup; k++)
            dup = secrets.v[k] == s;
        if (dup || kgc_base_vec_push(&secrets, (void *)s) != 0)
            kgc_api_obj_unref(s);
    }
    /* gateways are sorted by key: the Secrets come in the order their first Gateway does */
    for (size_t i = 0; i < secrets.n && !c->oom; i++) {
        const struct kgc_api_secret *s = kgc_api_as_secret(secrets.v[i]);
        char id[37];
        client_cert_id(s, id);
        json_object *o = tr_jobj(c);
        tr_jset(c, o, "id", tr_jstr(c, id));
        tr_jset(c, o, "cert", tr_jstr(c, s->tls_crt_pem));
        tr_jset(c, o, "key", tr_jstr(c, s->tls_key_pem));
        tr_jset(c, o, "tags", tr_obj_tags(c, KGC_API_SECRET, &s->obj, -1, -1));
        tr_jpush(c, certificates, o);
        c->counts.certificates++;
    }
    tr_release_all(&secrets);
    tr_release_all(&gateways);
}

void tr_head_ca_certificates(struct tr_ctx *c, json_object *head)
{
    if (c->oom)
        return;
    json_object *arr = tr_backend_tls_ca_certificates(c);
    if (arr && json_object_array_length(arr))
        tr_jset(c, head, "ca_certificates", arr);
    else
        json_object_put(arr); /* none: the key is left out (the document stays as before) */
}
