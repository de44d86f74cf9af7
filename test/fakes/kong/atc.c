/* atc — STUB until the ATC language lands (atc.h): parses nothing. */
#include "atc.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>

int kf_atc_parse(enum kf_atc_schema schema, const char *src, struct kf_atc_expr **out, char *err,
                 size_t errsz)
{
    (void)schema, (void)src;
    *out = NULL;
    snprintf(err, errsz, "ATC not implemented");
    return KGC_EINVAL;
}

void kf_atc_expr_free(struct kf_atc_expr *e)
{
    (void)e;
}

size_t kf_atc_expr_fields(const struct kf_atc_expr *e, const char *const **names)
{
    (void)e;
    *names = NULL;
    return 0;
}

struct kf_atc_ctx *kf_atc_ctx_new(void)
{
    return NULL;
}

void kf_atc_ctx_free(struct kf_atc_ctx *c)
{
    (void)c;
}

void kf_atc_ctx_reset(struct kf_atc_ctx *c)
{
    (void)c;
}

int kf_atc_ctx_add_str(struct kf_atc_ctx *c, const char *field, const char *value)
{
    (void)c, (void)field, (void)value;
    return KGC_ENOMEM;
}

int kf_atc_ctx_add_int(struct kf_atc_ctx *c, const char *field, int64_t value)
{
    (void)c, (void)field, (void)value;
    return KGC_ENOMEM;
}

int kf_atc_ctx_add_ip(struct kf_atc_ctx *c, const char *field, const char *ip)
{
    (void)c, (void)field, (void)ip;
    return KGC_ENOMEM;
}

bool kf_atc_expr_execute(const struct kf_atc_expr *e, struct kf_atc_ctx *c, struct kf_atc_match *m)
{
    (void)e, (void)c, (void)m;
    return false;
}

struct kf_atc_router *kf_atc_router_new(enum kf_atc_schema schema)
{
    (void)schema;
    return NULL;
}

void kf_atc_router_free(struct kf_atc_router *r)
{
    (void)r;
}

int kf_atc_router_add(struct kf_atc_router *r, const char *uuid, uint64_t priority,
                      const char *expr, char *err, size_t errsz)
{
    (void)r, (void)uuid, (void)priority, (void)expr;
    snprintf(err, errsz, "ATC not implemented");
    return KGC_EINVAL;
}

bool kf_atc_router_execute(const struct kf_atc_router *r, struct kf_atc_ctx *c,
                           struct kf_atc_match *m)
{
    (void)r, (void)c, (void)m;
    return false;
}

int kf_atc_regex_check(const char *pattern, char *err, size_t errsz)
{
    (void)pattern, (void)err, (void)errsz;
    return 0;
}
