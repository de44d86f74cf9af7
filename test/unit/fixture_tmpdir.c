/* fixture_tmpdir — see fixture_tmpdir.h. */
#include "fixture_tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *fixture_tmpdir_make(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "/tmp/kgc-%s-XXXXXX", name);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return mkdtemp(buf);
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    /* Children come first (FTW_DEPTH). What cannot be removed stays; the walk goes on and
     * fixture_tmpdir_remove() reports it by the directory still being there. */
    if (type == FTW_DP || type == FTW_DNR)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

int fixture_tmpdir_remove(const char *dir)
{
    if (access(dir, F_OK) != 0)
        return 0;
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return access(dir, F_OK) == 0 ? -1 : 0;
}
