/* fixture_tmpdir — a unit test's own temporary directory (linked into every unit test binary):
 * made fresh under /tmp, removed with everything below it. One place instead of each test
 * file's copy of mkdtemp + a recursive remove. Call both from the test's own thread, with no
 * other thread writing in the directory. */
#ifndef KGC_TEST_FIXTURE_TMPDIR_H
#define KGC_TEST_FIXTURE_TMPDIR_H

#include <stddef.h>

/* Room for "/tmp/kgc-<name>-XXXXXX" with a name of up to 40 characters. */
#define FIXTURE_TMPDIR_MAX 64

/* Makes a new, empty directory /tmp/kgc-<name>-XXXXXX (mode 0700, mkdtemp(3)) and writes its
 * path into buf. Returns buf, or NULL (errno set; buf too small gives ENAMETOOLONG). */
char *fixture_tmpdir_make(char *buf, size_t size, const char *name);

/* Removes dir and everything below it (nftw(3), depth first); symbolic links are removed, never
 * followed. Unmount anything mounted below it first. A missing dir is fine. Returns 0, or -1
 * when the directory is still there (something in it could not be removed). */
int fixture_tmpdir_remove(const char *dir);

#endif
