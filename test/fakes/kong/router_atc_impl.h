/* router_atc_impl — what the two halves of the ATC routers share (private to router_atc*.c):
 * router_atc_xform.c turns a route into the ATC expression and priority Kong 3.9.1 gives it
 * (kong/router/transform.lua, compat.lua, expressions.lua) and runs the routes-schema check;
 * router_atc.c builds the matcher set and fills the request context (kong/router/atc.lua,
 * fields.lua).
 *
 * Errors: 0, KGC_ENOMEM, or KGC_EINVAL with a message in err — Kong's text where Kong has one,
 * else a description of the Lua error Kong would raise on that input (fake-specific wording).
 * Pure functions: no state, callable from any thread. Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_ROUTER_ATC_IMPL_H
#define KGC_TEST_KONG_ROUTER_ATC_IMPL_H

#include "router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* transform.lua get_expression: route.expression when set, else the expression generated from
 * the traditional fields ("" when there are none). *out is malloc'd. */
int atcr_get_expression(json_object *route, char **out, char *err, size_t errsz);

/* transform.lua get_priority, with LuaJIT's number semantics (see router_atc_xform.c). */
int atcr_get_priority(json_object *route, uint64_t *out, char *err, size_t errsz);

/* The expression each flavour hands to the ATC router (compat.lua / expressions.lua
 * get_exp_and_priority). */
int atcr_flavor_expression(enum kf_flavor flavor, json_object *route, char **out, char *err,
                           size_t errsz);

/* transform.lua split_host_port: the host before the first ':' and its port when what follows
 * is a Lua number; else the whole key and no port. host is a malloc'd copy. */
int atcr_split_host_port(const char *key, char **host, bool *has_port, double *port);

/* Lua's tonumber() on a string (LuaJIT lj_strscan, decimal and 0x hex forms). */
bool atcr_lua_tonumber(const char *s, size_t len, double *out);

/* Whether the route's first protocol is a stream one (transform.lua:263-278). */
bool atcr_is_stream_route(json_object *route);

#endif
