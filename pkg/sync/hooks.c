/* sync — the syncer's hooks for the HTTP endpoints (see include/kgc/sync.h): readiness and
 * /debug/config, over the public API only. */
#include "kgc/sync.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

bool kgc_sync_hook_pushed(void *ctx)
{
    struct kgc_sync_stats st;
    kgc_sync_stats(ctx, &st);
    return st.pushes[KGC_KONG_PUSH_APPLIED] + st.pushes[KGC_KONG_PUSH_UNCHANGED] > 0;
}

int kgc_sync_hook_dump(void *ctx, bool pretty, char **out, size_t *len)
{
    char *json = kgc_sync_status_json(ctx);
    if (!json)
        return KGC_ENOMEM;
    if (pretty) {
        json_object *o = json_tokener_parse(json);
        if (o) {
            char *p = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
            json_object_put(o);
            if (p) {
                free(json);
                json = p;
            }
        }
    }
    *out = json;
    *len = strlen(json);
    return 0;
}
