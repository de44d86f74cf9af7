/* The client-side rate limiter: a token bucket refilled at qps up to burst. A caller reserves a
 * token and waits for it outside any lock, as client-go's token-bucket limiter does. */
#include "kgc/k8s.h"

void kgc_k8s_bucket_init(struct kgc_k8s_bucket *b, double qps, uint32_t burst, uint64_t now_ns)
{
    b->qps = qps;
    b->burst = burst ? (double)burst : 1.0;
    b->tokens = b->burst;
    b->last_ns = now_ns;
}

uint64_t kgc_k8s_bucket_reserve(struct kgc_k8s_bucket *b, uint64_t now_ns)
{
    if (b->qps <= 0)
        return 0;
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) / 1e9 * b->qps;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ns = now_ns;
    }
    b->tokens -= 1.0;
    if (b->tokens >= 0)
        return 0;
    /* The token becomes available once the deficit has been refilled. */
    return (uint64_t)(-b->tokens / b->qps * 1e9);
}
