/* Starting the test servers (kgc-test-apiserver, kgc-test-kong) as child processes from the unit
 * tests: each prints "listening on http://HOST:PORT" as its first stdout line. */
#ifndef KGC_TEST_FAKE_PROC_H
#define KGC_TEST_FAKE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Runs argv (argv[0] is the binary; NULL-terminated) with stdout on a pipe and, when quiet, stderr
 * on /dev/null (unless KGC_E2E_SERVER_LOG is set); the child gets SIGTERM when the test dies.
 * Waits up to timeout_ms for the listening line, copies its URL into url (url_size bytes) and
 * returns the pid; on failure kills the child and returns -1. *out_fd receives the pipe's read end
 * (kept open so that later output does not kill the child; close it after fake_proc_kill), or it
 * is closed when out_fd is NULL. */
pid_t fake_proc_start(char *const argv[], bool quiet, int timeout_ms, char *url, size_t url_size,
                      int *out_fd);

/* SIGKILL and reap. */
void fake_proc_kill(pid_t pid);

#endif
