/* fixture_yaml — unit-test helpers (linked into every unit test binary):
 *   - multi-document YAML (libyaml) → json-c trees, with the conformance placeholders
 *     {GATEWAY_CLASS_NAME} and {GATEWAY_CONTROLLER_NAME} substituted;
 *   - an in-memory object set (typed kgc_api objects + their JSON) behind a kgc_status_lookup,
 *     loaded from the Gateway API conformance manifests, editable and patchable like an API
 *     server (merge patch with resourceVersion check, generation bumps);
 *   - TLS Secrets with a self-signed certificate made at test time (OpenSSL, EC P-256);
 *   - hand-built Kong listener sets and listener views.
 * Nothing here is thread-safe; tests use it from one thread. */
#ifndef KGC_TEST_FIXTURE_YAML_H
#define KGC_TEST_FIXTURE_YAML_H

#include "kgc/api.h"
#include "kgc/kong.h"
#include "kgc/listenercache.h"
#include "kgc/status.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define FIXTURE_CLASS_NAME "kgc-conformance"
#define FIXTURE_ERR_MAX    512

/* The Gateway API data of the pinned version (crds/, crds-more/, conformance/):
 * $KGC_GATEWAY_API_DIR when set, else .deps/gateway-api, where `make deps` puts it (a path
 * relative to the repository root, the tests' working directory). */
const char *fixture_gateway_api_dir(void);

/* What to tell a reader when that data is missing. */
#define FIXTURE_GATEWAY_API_HINT                                                                   \
    "the Gateway API data comes from `make deps` (.deps/gateway-api; KGC_GATEWAY_API_DIR "         \
    "overrides); run the tests from the repository root"

/* The conformance manifest directory: fixture_gateway_api_dir()/conformance. Returns buf. */
const char *fixture_conformance_dir(char *buf, size_t size);

/* Parses every document of YAML text into *docs (a malloc'd array of *n new trees; documents
 * that are not mappings are skipped). Placeholders are replaced by class_name / controller.
 * Returns 0, or -1 with a message in err. Free with fixture_docs_free(). */
int fixture_yaml_parse(const char *text, size_t len, const char *class_name, const char *controller,
                       json_object ***docs, size_t *n, char *err, size_t err_size);

/* The same from a file. */
int fixture_yaml_load(const char *path, const char *class_name, const char *controller,
                      json_object ***docs, size_t *n, char *err, size_t err_size);

void fixture_docs_free(json_object **docs, size_t n);

/* ---- the object set ----------------------------------------------------------------------- */

struct fixture_set;

struct fixture_set *fixture_set_new(void);
void fixture_set_free(struct fixture_set *s);

/* Adds (or replaces) the object doc describes, by its "kind" (kinds kgc does not watch, like
 * Deployment, are skipped and return 1). metadata.generation defaults to 1 and
 * metadata.resourceVersion to "1". The set keeps its own copy of doc. Returns 0, 1 or -1 (err). */
int fixture_set_add_json(struct fixture_set *s, json_object *doc, char *err, size_t err_size);

/* Adds every document of YAML text (placeholders → FIXTURE_CLASS_NAME and the default
 * controller name). Returns 0 or -1 (err). */
int fixture_set_add_yaml(struct fixture_set *s, const char *yaml, char *err, size_t err_size);

/* Adds every document of the conformance manifest file (a name in fixture_conformance_dir()).
 * Returns 0 or -1 with a message naming the path (and `make deps`) in err. */
int fixture_set_load(struct fixture_set *s, const char *manifest, char *err, size_t err_size);

/* The object, borrowed (valid until it is replaced or the set freed), or NULL. */
const struct kgc_api_obj *fixture_set_find(const struct fixture_set *s, enum kgc_api_kind kind,
                                           const char *ns, const char *name);

/* The stored JSON of an object, to edit in place before fixture_set_update(). Borrowed. */
json_object *fixture_set_json(struct fixture_set *s, enum kgc_api_kind kind, const char *ns,
                              const char *name);

/* Re-parses the (edited) JSON of an object, as an API server stores a write: resourceVersion
 * moves on, generation too when bump_generation (a spec change). Returns the new object
 * (borrowed) or NULL. */
const struct kgc_api_obj *fixture_set_update(struct fixture_set *s, enum kgc_api_kind kind,
                                             const char *ns, const char *name,
                                             bool bump_generation);

/* Applies a JSON merge patch (RFC 7386) to the `/status` of an object like the API server does:
 * metadata.resourceVersion in the patch must match (else NULL: a conflict); only "status" is
 * taken; resourceVersion moves on. Returns the new object (borrowed) or NULL. */
const struct kgc_api_obj *fixture_set_patch_status(struct fixture_set *s, enum kgc_api_kind kind,
                                                   const char *ns, const char *name,
                                                   json_object *patch);

/* Removes an object; true when it was there. */
bool fixture_set_remove(struct fixture_set *s, enum kgc_api_kind kind, const char *ns,
                        const char *name);

/* A lookup over the set (valid while the set lives). */
struct kgc_status_lookup fixture_set_lookup(struct fixture_set *s);

/* Adds a kubernetes.io/tls Secret ns/name holding a fresh self-signed certificate for cn and its
 * key. Returns 0 or -1 (err). */
int fixture_set_add_tls_secret(struct fixture_set *s, const char *ns, const char *name,
                               const char *cn, char *err, size_t err_size);

/* ---- Kong listeners ------------------------------------------------------------------------ */

#define FIXTURE_KONG_MAX 8

struct fixture_kong {
    struct kgc_kong_listener proxy[FIXTURE_KONG_MAX];
    struct kgc_kong_listener stream[FIXTURE_KONG_MAX];
    struct kgc_kong_listeners set; /* points into the arrays above */
};

/* An empty listener set. */
void fixture_kong_empty(struct fixture_kong *k);

/* Kong's sample (test/fixtures/kong-root.json): proxy 8000 and 8443 ssl, stream 9443 ssl. */
void fixture_kong_default(struct fixture_kong *k);

/* Adds one listen on 0.0.0.0:port. */
void fixture_kong_add(struct fixture_kong *k, enum kgc_kong_listener_kind kind, uint16_t port,
                      bool ssl, bool udp);

/* A hand-built view of source over k's listeners (NULL: none), with reason for CACHED/NONE. */
void fixture_view(struct kgc_listenercache_view *v, enum kgc_listenercache_source source,
                  const struct fixture_kong *k, const char *reason);

/* ---- a conformance environment ------------------------------------------------------------ */

/* What most status tests start from: base-manifests.yaml, the GatewayClass FIXTURE_CLASS_NAME
 * owned by kgc, the TLS Secrets the conformance harness creates
 * (gateway-conformance-infra/tls-validity-checks-certificate,
 * gateway-conformance-web-backend/certificate), the Kong proxy Service kong/kong-proxy
 * (LoadBalancer 203.0.113.10 + lb.example.net, ClusterIP 10.96.0.10; port 80 → 8000,
 * 443 → 8443) used as the publish Service, Kong's sample listens, a LIVE view and "now". */
struct fixture_env {
    struct fixture_set *set;
    struct kgc_status_lookup lk;
    struct fixture_kong kong;
    struct kgc_listenercache_view view;
    struct kgc_status_options o;
};

#define FIXTURE_NOW   "2026-11-27T12:00:00Z"
#define FIXTURE_LATER "2026-11-27T12:05:00Z"

/* Sets env up (see above); 0 or -1 with err. */
int fixture_env_setup(struct fixture_env *env, char *err, size_t err_size);
void fixture_env_free(struct fixture_env *env);

/* Switches the view (LIVE/CACHED over env->kong, or NONE with reason). */
void fixture_env_view(struct fixture_env *env, enum kgc_listenercache_source source,
                      const char *reason);

/* The condition of type in a desired list, or NULL. */
const struct kgc_status_condition *fixture_cond(const struct kgc_status_condition *c, uint32_t n,
                                                const char *type);

/* The listener status named name in a desired Gateway status, or NULL. */
const struct kgc_status_listener *fixture_listener(const struct kgc_status_gateway *g,
                                                   const char *name);

/* The condition of type in a JSON conditions array, or NULL. */
json_object *fixture_json_cond(json_object *conditions, const char *type);

/* The string at a dotted path in a JSON tree ("status.conditions"): a node or NULL. */
json_object *fixture_json_path(json_object *root, const char *path);

#endif
