/* Backend TLS: a Gateway's spec.tls.backend.clientCertificateRef and BackendTLSPolicy status
 * (gateway-api v1.6.1 apis/v1/gateway_types.go GatewayBackendTLS, backendtlspolicy_types.go,
 * policy_types.go; conformance/tests/backendtlspolicy*.go and
 * gateway-invalid-tls-backend-configuration.go say which reasons are expected where). */
#include "status_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the Gateway's client certificate ------------------------------------------------------ */

const char *kgc_status_gateway_client_certificate(const struct kgc_status_lookup *lk,
                                                  const struct kgc_api_gateway *gw,
                                                  const struct kgc_api_obj **secret, char *msg,
                                                  size_t msg_size)
{
    if (secret)
        *secret = NULL;
    const struct kgc_api_object_ref *r = gw ? gw->backend_client_certificate_ref : NULL;
    if (!r)
        return NULL;
    const char *gw_ns = gw->obj.meta.namespace;
    const char *group = status_or(r->group, ""), *kind = status_or(r->kind, "Secret");
    const char *ns = status_or(r->namespace, gw_ns), *name = status_or(r->name, "");
    /* gateway_types.go GatewayBackendTLS: RefNotPermitted when another namespace's object is not
     * granted; InvalidClientCertificateRef otherwise (only when the reference is allowed) */
    if (!status_streq(ns, gw_ns) && !kgc_status_reference_granted(lk, KGC_STATUS_GROUP, "Gateway",
                                                                  gw_ns, group, kind, ns, name)) {
        snprintf(msg, msg_size,
                 "tls.backend.clientCertificateRef %s/%s %s/%s is in another namespace and no "
                 "ReferenceGrant in %s allows it",
                 group, kind, ns, name, ns);
        return KGC_STATUS_R_REF_NOT_PERMITTED;
    }
    if (group[0] || strcmp(kind, "Secret") != 0) {
        snprintf(msg, msg_size,
                 "tls.backend.clientCertificateRef %s/%s %s/%s: only core Secrets are supported",
                 group, kind, ns, name);
        return KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF;
    }
    const struct kgc_api_obj *obj = lk->get ? lk->get(lk->ctx, KGC_API_SECRET, ns, name) : NULL;
    const struct kgc_api_secret *sec = kgc_api_as_secret(obj);
    if (!sec) {
        /* kgc watches only kubernetes.io/tls Secrets (kgc/informer.h) */
        snprintf(msg, msg_size,
                 "tls.backend.clientCertificateRef: Secret %s/%s does not exist or is not of "
                 "type kubernetes.io/tls",
                 ns, name);
        kgc_api_obj_unref(obj);
        return KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF;
    }
    if (!sec->tls_valid) {
        snprintf(msg, msg_size,
                 "tls.backend.clientCertificateRef: Secret %s/%s is not a valid TLS Secret: %s", ns,
                 name, status_or(sec->tls_problem, "no usable tls.crt/tls.key"));
        kgc_api_obj_unref(obj);
        return KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF;
    }
    if (secret)
        *secret = obj;
    else
        kgc_api_obj_unref(obj);
    return NULL;
}

/* ---- precedence ------------------------------------------------------------------------------ */

static bool core_service(const struct kgc_api_policy_target_ref *t)
{
    return (!t->group || !t->group[0] || strcmp(t->group, "core") == 0) && t->kind &&
           strcmp(t->kind, "Service") == 0;
}

/* <0 when a takes precedence over b (backendtlspolicy_types.go TargetRefs: the older
 * creationTimestamp, then {namespace}/{name} in alphabetical order). RFC 3339 timestamps as the
 * API server writes them (UTC, "Z", whole seconds) compare as strings; a missing one sorts last. */
static int precedence(const struct kgc_api_obj *a, const struct kgc_api_obj *b)
{
    const char *ca = a->meta.creation_timestamp, *cb = b->meta.creation_timestamp;
    if (ca && cb) {
        int d = strcmp(ca, cb);
        if (d)
            return d;
    } else if (ca || cb) {
        return ca ? -1 : 1;
    }
    return strcmp(a->meta.key, b->meta.key);
}

struct for_port {
    const char *svc, *port;
    const struct kgc_api_backendtlspolicy *best;
    int best_class; /* 2: sectionName names the port; 1: no sectionName */
};

static bool for_port_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct for_port *x = ctx;
    const struct kgc_api_backendtlspolicy *p = kgc_api_as_backendtlspolicy(obj);
    if (!p)
        return true;
    int cls = 0;
    for (uint32_t i = 0; i < p->n_target_refs; i++) {
        const struct kgc_api_policy_target_ref *t = &p->target_refs[i];
        if (!core_service(t) || !status_streq(t->name, x->svc))
            continue;
        if (!t->section_name || !t->section_name[0])
            cls = cls > 1 ? cls : 1;
        else if (x->port && strcmp(t->section_name, x->port) == 0)
            cls = 2;
    }
    if (!cls)
        return true;
    if (!x->best || cls > x->best_class ||
        (cls == x->best_class && precedence(&p->obj, &x->best->obj) < 0)) {
        if (x->best)
            kgc_api_obj_unref(&x->best->obj);
        x->best = kgc_api_as_backendtlspolicy(kgc_api_obj_ref(&p->obj));
        x->best_class = cls;
    }
    return true;
}

const struct kgc_api_backendtlspolicy *
kgc_status_backendtls_for_port(const struct kgc_status_lookup *lk, const char *ns, const char *name,
                               const char *port_name)
{
    if (!lk || !lk->foreach || !ns || !name)
        return NULL;
    struct for_port x = {.svc = name, .port = port_name && port_name[0] ? port_name : NULL};
    lk->foreach (lk->ctx, KGC_API_BACKENDTLSPOLICY, ns, for_port_visit, &x);
    return x.best;
}

/* Whether another policy takes precedence over p on one of p's targets (same Service, same
 * sectionName or both without one): its key in winner. */
struct conflict {
    const struct kgc_api_backendtlspolicy *p;
    char winner[KGC_STATUS_NAME_MAX];
};

static bool conflict_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct conflict *x = ctx;
    const struct kgc_api_backendtlspolicy *q = kgc_api_as_backendtlspolicy(obj);
    if (!q || status_streq(q->obj.meta.key, x->p->obj.meta.key) ||
        precedence(&q->obj, &x->p->obj) >= 0)
        return true;
    for (uint32_t i = 0; i < x->p->n_target_refs; i++) {
        const struct kgc_api_policy_target_ref *a = &x->p->target_refs[i];
        if (!core_service(a))
            continue;
        for (uint32_t k = 0; k < q->n_target_refs; k++) {
            const struct kgc_api_policy_target_ref *b = &q->target_refs[k];
            if (core_service(b) && status_streq(a->name, b->name) &&
                status_streq(status_or(a->section_name, ""), status_or(b->section_name, ""))) {
                snprintf(x->winner, sizeof(x->winner), "%s", q->obj.meta.name);
                return false;
            }
        }
    }
    return true;
}

/* ---- the policy's own validity --------------------------------------------------------------- */

void kgc_status_backendtls_evaluate(const struct kgc_status_lookup *lk,
                                    const struct kgc_api_backendtlspolicy *p,
                                    struct kgc_status_backendtls_eval *out)
{
    memset(out, 0, sizeof(*out));
    out->refs_reason = KGC_STATUS_R_RESOLVED_REFS;
    snprintf(out->refs_message, sizeof(out->refs_message), "all references are resolved");
    const char *ns = p->obj.meta.namespace;
    const char *wk = p->well_known_ca_certificates && p->well_known_ca_certificates[0]
                         ? p->well_known_ca_certificates
                         : NULL;
    /* The CRD's CEL rules refuse both and neither; a server without them may let one through. */
    if (wk && p->n_ca_certificate_refs) {
        out->accepted_reason = KGC_STATUS_R_INVALID;
        snprintf(out->accepted_message, sizeof(out->accepted_message),
                 "validation must not set both caCertificateRefs and wellKnownCACertificates");
    } else if (!wk && !p->n_ca_certificate_refs) {
        out->accepted_reason = KGC_STATUS_R_INVALID;
        snprintf(out->accepted_message, sizeof(out->accepted_message),
                 "validation needs caCertificateRefs or wellKnownCACertificates");
    } else if (wk && strcmp(wk, "System") != 0) {
        /* backendtlspolicy_types.go WellKnownCACertificates: an unsupported value is
         * Accepted=False/Invalid. "System" is Kong's lua_ssl_trusted_certificate store
         * (kong/templates/kong_defaults.lua:192 in 3.9.1: "system"). */
        out->accepted_reason = KGC_STATUS_R_INVALID;
        snprintf(out->accepted_message, sizeof(out->accepted_message),
                 "wellKnownCACertificates \"%.64s\" is not supported (only System)", wk);
    } else if (!p->hostname || !p->hostname[0]) {
        out->accepted_reason = KGC_STATUS_R_INVALID;
        snprintf(out->accepted_message, sizeof(out->accepted_message),
                 "validation.hostname is required");
    }
    char bad_kind[KGC_STATUS_MSG_MAX] = "", bad_ref[KGC_STATUS_MSG_MAX] = "";
    for (uint32_t i = 0; i < p->n_ca_certificate_refs; i++) {
        const struct kgc_api_object_ref *r = &p->ca_certificate_refs[i];
        const char *group = status_or(r->group, ""), *kind = status_or(r->kind, "");
        const char *name = status_or(r->name, "");
        if ((group[0] && strcmp(group, "core") != 0) || strcmp(kind, "ConfigMap") != 0) {
            if (!bad_kind[0])
                snprintf(bad_kind, sizeof(bad_kind),
                         "caCertificateRefs[%u] %s/%s %s: only core ConfigMaps are supported", i,
                         group, kind, name);
            continue;
        }
        const struct kgc_api_obj *obj =
            lk->get ? lk->get(lk->ctx, KGC_API_CONFIGMAP, ns, name) : NULL;
        const struct kgc_api_configmap *cm = kgc_api_as_configmap(obj);
        if (!cm) {
            if (!bad_ref[0])
                snprintf(bad_ref, sizeof(bad_ref),
                         "caCertificateRefs[%u]: ConfigMap %s/%s does not exist", i, ns, name);
        } else if (!cm->has_ca_crt) {
            if (!bad_ref[0])
                snprintf(bad_ref, sizeof(bad_ref),
                         "caCertificateRefs[%u]: ConfigMap %s/%s has no key ca.crt", i, ns, name);
        } else if (!cm->ca_valid) {
            if (!bad_ref[0])
                snprintf(bad_ref, sizeof(bad_ref), "caCertificateRefs[%u]: ConfigMap %s/%s: %s", i,
                         ns, name, status_or(cm->ca_problem, "not a CA bundle"));
        } else {
            out->n_valid_cas++;
        }
        kgc_api_obj_unref(obj);
    }
    if (bad_kind[0]) {
        out->refs_reason = KGC_STATUS_R_INVALID_KIND;
        snprintf(out->refs_message, sizeof(out->refs_message), "%s", bad_kind);
    } else if (bad_ref[0]) {
        out->refs_reason = KGC_STATUS_R_INVALID_CA_CERTIFICATE_REF;
        snprintf(out->refs_message, sizeof(out->refs_message), "%s", bad_ref);
    }
    if (!out->accepted_reason && p->n_ca_certificate_refs && !out->n_valid_cas) {
        out->accepted_reason = KGC_STATUS_R_NO_VALID_CA_CERTIFICATE;
        snprintf(out->accepted_message, sizeof(out->accepted_message),
                 "no caCertificateRef is valid: %s", bad_kind[0] ? bad_kind : bad_ref);
    }
    /* Kong 3.9.1 verifies the upstream certificate against proxy_ssl_name, which is the SNI
     * $upstream_host (kong/templates/nginx_kong.lua:207-208); no service field names other
     * subject alternative names (kong/db/schema/entities/services.lua:28-50). A Hostname SAN
     * equal to validation.hostname is what Kong checks; anything else cannot be. */
    bool host_san = false;
    char others[KGC_STATUS_MSG_MAX / 2] = "";
    for (uint32_t i = 0; i < p->n_subject_alt_names; i++) {
        const struct kgc_api_subject_alt_name *a = &p->subject_alt_names[i];
        bool uri = status_streq(a->type, "URI");
        const char *v = uri ? a->uri : a->hostname;
        if (!uri && v && p->hostname && strcasecmp(v, p->hostname) == 0) {
            host_san = true;
            continue;
        }
        char one[300];
        snprintf(one, sizeof(one), "%s %.200s", uri ? "URI" : "Hostname", status_or(v, "?"));
        status_append_name(others, sizeof(others), one);
    }
    if (others[0] && host_san)
        snprintf(out->kong_limit, sizeof(out->kong_limit),
                 "Kong verifies the backend certificate against validation.hostname (the SNI) "
                 "only: the Hostname subjectAltName equal to it is checked, a certificate "
                 "matching only %s is refused",
                 others);
    else if (others[0])
        snprintf(out->kong_limit, sizeof(out->kong_limit),
                 "Kong verifies the backend certificate against validation.hostname (the SNI) "
                 "only and cannot check subjectAltNames %s: requests to the targeted backends "
                 "are refused (500) rather than sent unverified",
                 others);
    out->usable = !out->accepted_reason && (!others[0] || host_san);
}

/* ---- status ---------------------------------------------------------------------------------- */

struct ancestors {
    const struct kgc_status_options *o;
    const struct kgc_status_lookup *lk;
    const struct kgc_api_backendtlspolicy *p;
    struct kgc_status_backendtlspolicy *out;
};

static bool route_uses_target(const struct kgc_api_httproute *r,
                              const struct kgc_api_backendtlspolicy *p)
{
    const char *pns = p->obj.meta.namespace;
    for (uint32_t i = 0; i < r->n_rules; i++) {
        for (uint32_t k = 0; k < r->rules[i].n_backend_refs; k++) {
            const struct kgc_api_backend_ref *b = &r->rules[i].backend_refs[k];
            if ((b->group && b->group[0]) || (b->kind && strcmp(b->kind, "Service") != 0))
                continue;
            if (!status_streq(status_or(b->namespace, r->obj.meta.namespace), pns))
                continue;
            for (uint32_t t = 0; t < p->n_target_refs; t++)
                if (core_service(&p->target_refs[t]) &&
                    status_streq(p->target_refs[t].name, b->name))
                    return true;
        }
    }
    return false;
}

static bool ancestor_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct ancestors *x = ctx;
    const struct kgc_api_httproute *r = kgc_api_as_httproute(obj);
    if (!r || !route_uses_target(r, x->p))
        return true;
    for (uint32_t i = 0; i < r->n_parent_refs; i++) {
        const struct kgc_api_gateway *gw =
            status_parent_gateway(x->o, x->lk, r, &r->parent_refs[i]);
        if (!gw)
            continue;
        bool seen = false;
        for (uint32_t k = 0; k < x->out->n_ancestors && !seen; k++)
            seen = x->out->gateways[k] == &gw->obj;
        if (seen || x->out->n_ancestors == KGC_STATUS_MAX_ANCESTORS) {
            kgc_api_obj_unref(&gw->obj);
            continue;
        }
        uint32_t n = x->out->n_ancestors++;
        x->out->gateways[n] = &gw->obj; /* the reference is kept */
        struct kgc_api_parent_ref *a = &x->out->ancestors[n].ancestor_ref;
        a->group = KGC_STATUS_GROUP;
        a->kind = "Gateway";
        a->namespace = gw->obj.meta.namespace;
        a->name = gw->obj.meta.name;
    }
    return true;
}

static int cmp_ancestor(const void *a, const void *b)
{
    const struct kgc_status_policy_ancestor *x = a, *y = b;
    int d = strcmp(x->ancestor_ref.namespace, y->ancestor_ref.namespace);
    return d ? d : strcmp(x->ancestor_ref.name, y->ancestor_ref.name);
}

int kgc_status_backendtlspolicy_compute(const struct kgc_status_options *o,
                                        const struct kgc_status_lookup *lk,
                                        const struct kgc_api_backendtlspolicy *p,
                                        struct kgc_status_backendtlspolicy *out,
                                        struct kgc_err *err)
{
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "status: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!o || !lk || !p)
        return kgc_err_set(err, KGC_EINVAL,
                           "status: policy compute needs options, a lookup "
                           "and an object");
    out->policy = kgc_api_as_backendtlspolicy(kgc_api_obj_ref(&p->obj));
    snprintf(out->controller_name, sizeof(out->controller_name), "%s", status_controller(o));
    out->generation = p->obj.meta.generation;
    status_now(o, out->now, sizeof(out->now));

    struct ancestors x = {o, lk, p, out};
    if (lk->foreach)
        lk->foreach (lk->ctx, KGC_API_HTTPROUTE, NULL, ancestor_visit, &x);
    if (!out->n_ancestors)
        return 0;

    struct kgc_status_backendtls_eval ev;
    kgc_status_backendtls_evaluate(lk, p, &ev);
    struct conflict cf = {.p = p};
    if (lk->foreach)
        lk->foreach (lk->ctx, KGC_API_BACKENDTLSPOLICY, p->obj.meta.namespace, conflict_visit, &cf);
    bool unsupported_target = false;
    for (uint32_t i = 0; i < p->n_target_refs; i++)
        unsupported_target = unsupported_target || !core_service(&p->target_refs[i]);

    struct kgc_status_condition acc, refs, lim;
    if (cf.winner[0])
        status_cond_set(&acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_CONFLICTED,
                        "BackendTLSPolicy %s takes precedence on the same target (older, or "
                        "first by namespace/name); this policy is not applied there",
                        cf.winner);
    else if (ev.accepted_reason)
        status_cond_set(&acc, KGC_STATUS_ACCEPTED, false, ev.accepted_reason, "%s",
                        ev.accepted_message);
    else
        status_cond_set(
            &acc, KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_ACCEPTED, "the policy is accepted%s",
            unsupported_target ? " (targetRefs other than core Services are ignored)" : "");
    status_cond_set(&refs, KGC_STATUS_RESOLVED_REFS,
                    strcmp(ev.refs_reason, KGC_STATUS_R_RESOLVED_REFS) == 0, ev.refs_reason, "%s",
                    ev.refs_message);
    if (ev.kong_limit[0])
        status_cond_set(&lim, KGC_STATUS_KONG_LIMITATION, true, KGC_STATUS_R_KONG_LIMITATION, "%s",
                        ev.kong_limit);
    for (uint32_t i = 0; i < out->n_ancestors; i++) {
        struct kgc_status_policy_ancestor *a = &out->ancestors[i];
        a->conditions[0] = acc;
        a->conditions[1] = refs;
        a->n_conditions = 2;
        if (ev.kong_limit[0])
            a->conditions[a->n_conditions++] = lim;
    }
    /* a stable order whatever order the routes were met in (the gateways[] references are only
     * kept to be dropped: their order does not matter) */
    qsort(out->ancestors, out->n_ancestors, sizeof(out->ancestors[0]), cmp_ancestor);
    return 0;
}

void kgc_status_backendtlspolicy_release(struct kgc_status_backendtlspolicy *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n_ancestors; i++)
        kgc_api_obj_unref(s->gateways[i]);
    kgc_api_obj_unref(s->policy ? &s->policy->obj : NULL);
    memset(s, 0, sizeof(*s));
}
