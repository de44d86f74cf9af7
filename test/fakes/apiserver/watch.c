/* watch — the per-watch event queue and the streaming side of a watch (fas_watch_read). */
#include "objstore_internal.h"

#include "kgc/clock.h"
#include "kgc/err.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_STEP_MS 250 /* how often an idle stream checks for a hang-up or its deadline */
#define LINGER_MS    10  /* after waking for an event, how long to gather more before sending */
#define LINGER_MAX   256 /* queued events that end the gathering early */

struct fas_watch *fas_watch_new(struct fas_store *s, struct fas_rtype *rt, const char *api_version)
{
    struct fas_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->store = s;
    w->rt = rt;
    w->fd = -1;
    w->api_version = strdup(api_version);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->last_send_ns = kgc_clock_now(NULL);
    if (!w->api_version) {
        fas_watch_release(w);
        return NULL;
    }
    return w;
}

static void drop_queue(struct fas_watch *w)
{
    while (w->head) {
        struct fas_wq_item *it = w->head;
        w->head = it->next;
        fas_line_unref(it->line);
        free(it);
    }
    w->tail = NULL;
    w->queued = 0;
}

void fas_watch_enqueue(struct fas_watch *w, struct fas_line *line)
{
    struct fas_wq_item *it = malloc(sizeof(*it));
    pthread_mutex_lock(&w->mu);
    if (!it || w->cut || w->closed) {
        pthread_mutex_unlock(&w->mu);
        free(it);
        fas_line_unref(line);
        return;
    }
    if (w->queued >= w->store->watch_queue_max) {
        /* A reader this far behind is cut, as the real server does with slow watchers. */
        w->cut = true;
        drop_queue(w);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        free(it);
        fas_line_unref(line);
        return;
    }
    it->line = line;
    it->next = NULL;
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->queued++;
    /* The reader only waits on an empty queue, or while gathering (see LINGER_MS). */
    if (w->queued == 1 || w->queued == LINGER_MAX)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static bool client_gone(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static void abs_deadline(struct timespec *ts, uint64_t wait_ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t t = (uint64_t)ts->tv_sec * KGC_NS_PER_S + (uint64_t)ts->tv_nsec + wait_ns;
    ts->tv_sec = (time_t)(t / KGC_NS_PER_S);
    ts->tv_nsec = (long)(t % KGC_NS_PER_S);
}

static struct fas_line *bookmark(struct fas_watch *w, int64_t rv)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
                     "\"metadata\":{\"resourceVersion\":\"%" PRId64 "\"}}}\n",
                     w->rt->kind, w->api_version, rv);
    if (n <= 0 || (size_t)n >= sizeof(buf))
        return NULL;
    struct fas_line *l = fas_line_new((size_t)n);
    if (l)
        memcpy(l->data, buf, (size_t)n);
    return l;
}

ssize_t fas_watch_read(struct fas_watch *w, char *buf, size_t max)
{
    size_t out = 0;
    for (;;) {
        if (w->cur) {
            size_t left = w->cur->len - w->cur_off;
            size_t n = left < max - out ? left : max - out;
            memcpy(buf + out, w->cur->data + w->cur_off, n);
            out += n;
            w->cur_off += n;
            if (w->cur_off < w->cur->len)
                return (ssize_t)out; /* buffer full mid-line */
            fas_line_unref(w->cur);
            w->cur = NULL;
            w->cur_off = 0;
        }
        pthread_mutex_lock(&w->mu);
        bool waited = false;
        while (!w->head && !w->closed && !w->cut) {
            if (out > 0) {
                pthread_mutex_unlock(&w->mu);
                w->last_send_ns = kgc_clock_now(NULL);
                return (ssize_t)out;
            }
            uint64_t now = kgc_clock_now(NULL);
            if (w->deadline_ns && now >= w->deadline_ns) {
                pthread_mutex_unlock(&w->mu);
                return -1;
            }
            if (atomic_load(&w->store->shutdown)) {
                pthread_mutex_unlock(&w->mu);
                return -1;
            }
            uint64_t idle_ns = (uint64_t)w->store->bookmark_ms * KGC_NS_PER_MS;
            if (w->bookmarks && now - w->last_send_ns >= idle_ns) {
                /* Everything up to dispatched_rv that matched is queued already (the queue is
                 * empty and producers publish dispatched_rv after queueing). */
                struct fas_line *bm = bookmark(w, atomic_load(&w->store->dispatched_rv));
                if (bm) {
                    w->cur = bm;
                    w->cur_off = 0;
                    break;
                }
            }
            if (client_gone(w->fd)) {
                pthread_mutex_unlock(&w->mu);
                return -2;
            }
            uint64_t wait_ns = (uint64_t)WAIT_STEP_MS * KGC_NS_PER_MS;
            if (w->bookmarks && idle_ns - (now - w->last_send_ns) < wait_ns)
                wait_ns = idle_ns - (now - w->last_send_ns) + KGC_NS_PER_MS;
            if (w->deadline_ns && w->deadline_ns - now < wait_ns)
                wait_ns = w->deadline_ns - now + KGC_NS_PER_MS;
            struct timespec ts;
            abs_deadline(&ts, wait_ns);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            waited = true;
        }
        if (waited && w->head && !w->cut && !w->closed) {
            /* Woken by a first event: gather what follows it for a moment, so that a burst of
             * writes goes out in a few large chunks instead of one wake-up per event. */
            struct timespec ts;
            abs_deadline(&ts, (uint64_t)LINGER_MS * KGC_NS_PER_MS);
            while (w->queued < LINGER_MAX && !w->cut && !w->closed &&
                   pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0)
                ;
        }
        if (w->cur) { /* a bookmark */
            pthread_mutex_unlock(&w->mu);
            w->last_send_ns = kgc_clock_now(NULL);
            continue;
        }
        if (w->cut) {
            drop_queue(w);
            pthread_mutex_unlock(&w->mu);
            return out > 0 ? (ssize_t)out : -1;
        }
        if (!w->head) { /* closed and drained */
            pthread_mutex_unlock(&w->mu);
            return out > 0 ? (ssize_t)out : -1;
        }
        struct fas_wq_item *it = w->head;
        w->head = it->next;
        if (!w->head)
            w->tail = NULL;
        w->queued--;
        pthread_mutex_unlock(&w->mu);
        w->cur = it->line;
        w->cur_off = 0;
        free(it);
        w->last_send_ns = kgc_clock_now(NULL);
        if (out == max)
            return (ssize_t)out;
    }
}
