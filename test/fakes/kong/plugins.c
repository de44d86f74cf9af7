/* plugins — STUB until the plugins land (proxy.h): runs nothing. */
#include "proxy.h"

#include <string.h>

int kf_plugins_access(json_object *const *plugins, size_t n, const struct kf_client_req *client,
                      const struct kf_match *m, struct kf_preq *up, struct kf_presp *resp)
{
    (void)plugins, (void)n, (void)client, (void)m, (void)up, (void)resp;
    return 0;
}

int kf_plugins_response(json_object *const *plugins, size_t n, const struct kf_client_req *client,
                        struct kf_presp *resp)
{
    (void)plugins, (void)n, (void)client, (void)resp;
    return 0;
}

bool kf_plugin_supported(const char *name)
{
    (void)name;
    return false;
}
