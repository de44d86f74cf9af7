/* balancer — additions to proxy.h's kf_balancer_* for what Kong's balancer needs beyond the
 * client request: the router's uri captures (hash_on = uri_capture) and the cookie Kong sets when
 * it hashes on a cookie the client did not send. Owned by balancer.c; internal to
 * test/fakes/kong/. Thread-safe like kf_balancer_pick(). */
#ifndef KGC_TEST_KONG_BALANCER_H
#define KGC_TEST_KONG_BALANCER_H

#include "proxy.h"

#include <stddef.h>
#include <stdint.h>

/* What a pick produced besides the target. */
struct kf_balancer_extra {
    /* hash_on = cookie and the request had none: Kong generates a UUID and answers with
     * "Set-Cookie: <name>=<uuid>; Path=<path>; Same-Site=Lax; HttpOnly"
     * (kong/runloop/balancer/init.lua:137-154,195-224). Empty string when none. */
    char set_cookie[256];
};

/* kf_balancer_pick() with the router's captures (m may be NULL) and the extras (may be NULL). */
int kf_balancer_pick_ex(struct kf_balancer *b, const struct kf_client_req *client,
                        const struct kf_match *m, char *out, size_t outsz,
                        struct kf_balancer_extra *extra);

/* XXH32 with seed 0, as luaxxhash computes it (used by consistent-hashing). */
uint32_t kf_xxhash32(const void *data, size_t len);

/* The value Kong hashes for this request (get_value_to_hash, balancer/init.lua:107-193), or
 * NULL when hashing is off or nothing was found (Kong then hashes ""). Caller frees. For tests. */
char *kf_balancer_hash_value(const struct kf_balancer *b, const struct kf_client_req *client,
                             const struct kf_match *m);

#endif
