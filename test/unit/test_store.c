/* store: named records (put, get, delete, iterate), persistence across a reopen, the damaged-file
 * handling (garbage, empty, truncated, another schema, a record the opener rejects: moved aside,
 * the store starts empty), the size cap and a full filesystem (a tmpfs, when this runs as root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kgc/log.h"
#include "kgc/store.h"

#include "fixture_tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA "kgc-test-store/1"

struct fx {
    char dir[FIXTURE_TMPDIR_MAX];
    struct kgc_store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (!fixture_tmpdir_make(f->dir, sizeof(f->dir), "store")) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    kgc_store_close(f->st);
    char mnt[128];
    snprintf(mnt, sizeof(mnt), "%s/tmpfs", f->dir);
    umount2(mnt, MNT_DETACH); /* test_full_filesystem's, if it failed half-way */
    fixture_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static int open_with(const char *dir, const char *schema, unsigned max_mb, kgc_store_check_fn check,
                     struct kgc_store **out, struct kgc_err *err)
{
    struct kgc_store_options o;
    kgc_store_options_default(&o);
    o.dir = dir;
    o.schema = schema;
    o.label = "test store";
    o.hint = "give another directory";
    if (max_mb)
        o.max_mb = max_mb;
    o.check = check;
    return kgc_store_open(&o, out, err);
}

static struct kgc_store *open_ok(const char *dir)
{
    struct kgc_store *st = NULL;
    struct kgc_err err = {0};
    if (open_with(dir, SCHEMA, 0, NULL, &st, &err) != 0)
        fail_msg("open %s: %s", dir, err.msg);
    return st;
}

static void put_ok(struct kgc_store *st, const char *name, const char *value)
{
    struct kgc_err err = {0};
    if (kgc_store_put(st, name, value, strlen(value), &err) != 0)
        fail_msg("put %s: %s", name, err.msg);
}

/* The record's value, or "<ENOENT>"-style text for a failure (static buffer). */
static const char *get_str(struct kgc_store *st, const char *name)
{
    static char out[256];
    char *data = NULL;
    size_t len = 0;
    int rc = kgc_store_get(st, name, &data, &len, NULL);
    if (rc == KGC_ENOENT)
        snprintf(out, sizeof(out), "<none>");
    else if (rc != 0)
        snprintf(out, sizeof(out), "<error %d>", rc);
    else
        snprintf(out, sizeof(out), "%.*s", (int)len, data);
    free(data);
    return out;
}

/* Collects "name=value;" for every record iterated. */
struct collect {
    char text[512];
    int stop_after; /* 0: never */
    int n;
};

static int collect_one(void *ctx, const char *name, size_t name_len, const void *data, size_t len)
{
    struct collect *c = ctx;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof(c->text) - used, "%.*s=%.*s;", (int)name_len, name, (int)len,
             (const char *)data);
    c->n++;
    return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static bool has_moved_file(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *e;
    while (d && (e = readdir(d)))
        found |= strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return found;
}

/* ---- records --------------------------------------------------------------------------------- */

static void test_put_get_delete_iterate(void **state)
{
    struct fx *f = *state;
    f->st = open_ok(f->dir);
    assert_string_equal(kgc_store_dir(f->st), f->dir);
    assert_string_equal(kgc_store_moved_aside(f->st), "");
    assert_string_equal(get_str(f->st, "a:1"), "<none>");
    put_ok(f->st, "b:2", "two");
    put_ok(f->st, "a:1", "one");
    put_ok(f->st, "a:3", "three");
    put_ok(f->st, "a:1", "uno"); /* replaced */
    assert_string_equal(get_str(f->st, "a:1"), "uno");

    /* get gives a NUL after the bytes */
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(kgc_store_get(f->st, "b:2", &data, &len, NULL), 0);
    assert_int_equal(len, 3);
    assert_int_equal(data[3], '\0');
    free(data);

    /* an empty record */
    assert_int_equal(kgc_store_put(f->st, "e", NULL, 0, NULL), 0);
    assert_int_equal(kgc_store_get(f->st, "e", &data, &len, NULL), 0);
    assert_int_equal(len, 0);
    free(data);

    struct collect c = {0};
    assert_int_equal(kgc_store_iterate(f->st, "a:", collect_one, &c, NULL), 0);
    assert_string_equal(c.text, "a:1=uno;a:3=three;"); /* by name, only the prefix */
    memset(&c, 0, sizeof(c));
    assert_int_equal(kgc_store_iterate(f->st, NULL, collect_one, &c, NULL), 0);
    assert_string_equal(c.text, "a:1=uno;a:3=three;b:2=two;e=;"); /* never meta:schema */
    memset(&c, 0, sizeof(c));
    c.stop_after = 1;
    assert_int_equal(kgc_store_iterate(f->st, "", collect_one, &c, NULL), 42); /* fn's value */
    assert_int_equal(c.n, 1);
    memset(&c, 0, sizeof(c));
    assert_int_equal(kgc_store_iterate(f->st, "zz", collect_one, &c, NULL), 0);
    assert_int_equal(c.n, 0);

    const char *gone[] = {"a:1", "b:2", "never-stored"};
    assert_int_equal(kgc_store_delete(f->st, gone, 3, NULL), 0);
    assert_string_equal(get_str(f->st, "a:1"), "<none>");
    assert_string_equal(get_str(f->st, "b:2"), "<none>");
    assert_string_equal(get_str(f->st, "a:3"), "three");
}

static void test_bad_names_and_sizes(void **state)
{
    struct fx *f = *state;
    f->st = open_ok(f->dir);
    struct kgc_err err = {0};
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(kgc_store_put(f->st, "", "x", 1, &err), KGC_EINVAL);
    assert_int_equal(kgc_store_put(f->st, NULL, "x", 1, &err), KGC_EINVAL);
    assert_int_equal(kgc_store_put(f->st, "meta:schema", "x", 1, &err),
                     KGC_EINVAL); /* the store's */
    assert_int_equal(kgc_store_get(f->st, "meta:schema", &data, &len, &err), KGC_EINVAL);
    assert_null(data);
    char long_name[KGC_STORE_NAME_MAX + 2];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(kgc_store_put(f->st, long_name, "x", 1, &err), KGC_EINVAL);
    long_name[KGC_STORE_NAME_MAX] = '\0'; /* exactly the maximum */
    assert_int_equal(kgc_store_put(f->st, long_name, "x", 1, &err), 0);
    const char *bad[] = {"ok", ""};
    put_ok(f->st, "ok", "kept");
    assert_int_equal(kgc_store_delete(f->st, bad, 2, &err), KGC_EINVAL);
    assert_string_equal(get_str(f->st, "ok"), "kept"); /* nothing removed */
    char *big = calloc(1, KGC_STORE_RECORD_MAX + 1);
    assert_non_null(big);
    assert_int_equal(kgc_store_put(f->st, "big", big, KGC_STORE_RECORD_MAX + 1, &err), KGC_EINVAL);
    assert_non_null(strstr(err.msg, "big"));
    free(big);
}

static void test_persists_across_reopen(void **state)
{
    struct fx *f = *state;
    f->st = open_ok(f->dir);
    put_ok(f->st, "rec:one", "1");
    put_ok(f->st, "inst:http://k:8001", "entry");
    kgc_store_close(f->st);
    f->st = open_ok(f->dir);
    assert_string_equal(kgc_store_moved_aside(f->st), "");
    assert_string_equal(get_str(f->st, "rec:one"), "1");
    assert_string_equal(get_str(f->st, "inst:http://k:8001"), "entry");
}

static void test_open_errors(void **state)
{
    struct fx *f = *state;
    struct kgc_store *st = NULL;
    struct kgc_err err = {0};
    assert_int_equal(open_with(f->dir, NULL, 0, NULL, &st, &err), KGC_EINVAL); /* no schema */
    assert_int_equal(open_with(NULL, SCHEMA, 0, NULL, &st, &err), KGC_EINVAL);
    char file[128];
    snprintf(file, sizeof(file), "%s/file", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(open_with(file, SCHEMA, 0, NULL, &st, &err), KGC_EINVAL);
    assert_non_null(strstr(err.msg, "not a directory"));
    assert_null(st);
    f->st = open_ok(f->dir);
    assert_int_equal(open_with(f->dir, SCHEMA, 0, NULL, &st, &err), KGC_EEXIST);
    assert_non_null(strstr(err.msg, "already open"));
    if (geteuid() != 0) { /* root writes anywhere */
        char ro[128];
        snprintf(ro, sizeof(ro), "%s/ro", f->dir);
        assert_int_equal(mkdir(ro, 0500), 0);
        assert_int_equal(open_with(ro, SCHEMA, 0, NULL, &st, &err), KGC_EACCES);
        assert_non_null(strstr(err.msg, "(give another directory)"));
    }
}

/* ---- damaged files ----------------------------------------------------------------------------
 */

/* Opens f->dir expecting the file moved aside and an empty, working store. */
static void expect_recovered(struct fx *f, kgc_store_check_fn check)
{
    struct kgc_err err = {0};
    assert_int_equal(open_with(f->dir, SCHEMA, 0, check, &f->st, &err), 0);
    assert_non_null(strstr(kgc_store_moved_aside(f->st), "data.mdb.corrupt-"));
    assert_true(has_moved_file(f->dir, "data.mdb.corrupt-"));
    struct collect c = {0};
    assert_int_equal(kgc_store_iterate(f->st, NULL, collect_one, &c, NULL), 0);
    assert_int_equal(c.n, 0);
    put_ok(f->st, "rec:after", "ok");
    kgc_store_close(f->st);
    assert_int_equal(open_with(f->dir, SCHEMA, 0, check, &f->st, &err), 0);
    assert_string_equal(kgc_store_moved_aside(f->st), "");
    assert_string_equal(get_str(f->st, "rec:after"), "ok");
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void test_garbage_file_moved_aside(void **state)
{
    struct fx *f = *state;
    char path[128], garbage[65536];
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)("not an lmdb file "[i % 17]);
    write_file(path, garbage, sizeof(garbage));
    struct kgc_err err = {0};
    assert_int_equal(open_with(f->dir, SCHEMA, 0, NULL, &f->st, &err), 0);
    /* the damaged bytes are kept, unchanged, where moved_aside says */
    const char *moved = kgc_store_moved_aside(f->st);
    FILE *fp = fopen(moved, "r");
    assert_non_null(fp);
    char back[sizeof(garbage)];
    assert_int_equal(fread(back, 1, sizeof(back), fp), sizeof(back));
    fclose(fp);
    assert_memory_equal(back, garbage, sizeof(garbage));
    kgc_store_close(f->st);
    f->st = NULL;
    fixture_tmpdir_remove(f->dir);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    write_file(path, garbage, sizeof(garbage));
    expect_recovered(f, NULL);
}

static void test_empty_file_moved_aside(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    write_file(path, "", 0);
    expect_recovered(f, NULL);
}

static void test_truncated_file_moved_aside(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    f->st = open_ok(f->dir);
    char value[3000];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof(name), "r%02d", i);
        put_ok(f->st, name, value);
    }
    kgc_store_close(f->st);
    f->st = NULL;
    long psize = sysconf(_SC_PAGESIZE);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > 2 * psize);
    assert_int_equal(truncate(path, 2 * psize), 0); /* only the meta pages are left */
    expect_recovered(f, NULL);
}

static void test_other_schema_moved_aside(void **state)
{
    struct fx *f = *state;
    struct kgc_err err = {0};
    assert_int_equal(open_with(f->dir, "kgc-test-store/0", 0, NULL, &f->st, &err), 0);
    put_ok(f->st, "rec:old", "layout 0");
    kgc_store_close(f->st);
    f->st = NULL;
    expect_recovered(f, NULL);
}

/* The opener's check: a record whose value is "bad" means damage; "oom" fails the open. */
static int check_values(void *ctx, const char *name, size_t name_len, const void *data, size_t len,
                        char *why, size_t why_size)
{
    (void)ctx;
    if (len == 3 && memcmp(data, "oom", 3) == 0)
        return KGC_ENOMEM;
    if (len == 3 && memcmp(data, "bad", 3) == 0) {
        snprintf(why, why_size, "record %.*s is bad", (int)name_len, name);
        return 1;
    }
    return 0;
}

static void test_check_rejects_record(void **state)
{
    struct fx *f = *state;
    f->st = open_ok(f->dir);
    put_ok(f->st, "rec:good", "good");
    kgc_store_close(f->st);
    f->st = NULL;
    struct kgc_err err = {0};
    assert_int_equal(open_with(f->dir, SCHEMA, 0, check_values, &f->st, &err), 0);
    assert_string_equal(kgc_store_moved_aside(f->st), ""); /* all accepted */
    put_ok(f->st, "rec:bad", "bad");
    kgc_store_close(f->st);
    f->st = NULL;
    expect_recovered(f, check_values);
    put_ok(f->st, "rec:x", "oom");
    kgc_store_close(f->st);
    f->st = NULL;
    assert_int_equal(open_with(f->dir, SCHEMA, 0, check_values, &f->st, &err), KGC_ENOMEM);
    assert_null(f->st);
}

/* ---- full ------------------------------------------------------------------------------------ */

static void test_size_cap(void **state)
{
    struct fx *f = *state;
    struct kgc_err err = {0};
    assert_int_equal(open_with(f->dir, SCHEMA, 1, NULL, &f->st, &err), 0);
    put_ok(f->st, "rec:small", "kept");
    size_t n = 2u << 20; /* twice the 1 MiB map */
    char *big = calloc(1, n);
    assert_non_null(big);
    assert_int_equal(kgc_store_put(f->st, "rec:big", big, n, &err), KGC_ENOSPC);
    assert_non_null(strstr(err.msg, "writing rec:big"));
    free(big);
    assert_string_equal(get_str(f->st, "rec:small"), "kept");
    assert_string_equal(get_str(f->st, "rec:big"), "<none>");
}

/* A 128 KiB tmpfs (mounting needs root; otherwise this says so and checks nothing): a store on
 * a full filesystem does not open (KGC_ENOSPC, no SIGBUS); one opened before the filesystem
 * fills fails its next large write with KGC_ENOSPC and keeps what it had. */
static void test_full_filesystem(void **state)
{
    struct fx *f = *state;
    char mnt[128], dir[160], filler[160];
    snprintf(mnt, sizeof(mnt), "%s/tmpfs", f->dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (mount("kgc-test-store", mnt, "tmpfs", 0, "size=128k,mode=0700") != 0) {
        print_message("skip: cannot mount a tmpfs (%s): full filesystem not checked\n",
                      strerror(errno));
        return;
    }
    snprintf(dir, sizeof(dir), "%s/store", mnt);
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    struct kgc_err err = {0};
    assert_int_equal(open_with(dir, SCHEMA, 1, NULL, &f->st, &err), 0);
    put_ok(f->st, "rec:small", "kept");

    /* fill every block that is left */
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char block[4096] = {0};
    while (write(fd, block, sizeof(block)) > 0)
        ;
    close(fd);
    char *big = calloc(1, 64 * 1024);
    assert_non_null(big);
    int rc = kgc_store_put(f->st, "rec:big", big, 64 * 1024, &err);
    free(big);
    print_message("write on a full filesystem: %d %s\n", rc, err.msg);
    assert_int_equal(rc, KGC_ENOSPC);
    assert_string_equal(get_str(f->st, "rec:small"), "kept");
    kgc_store_close(f->st);
    f->st = NULL;

    /* a new store on the full filesystem */
    char dir2[192];
    snprintf(dir2, sizeof(dir2), "%s/store2", mnt);
    assert_int_equal(mkdir(dir2, 0700), 0);
    rc = open_with(dir2, SCHEMA, 1, NULL, &f->st, &err);
    print_message("open on a full filesystem: %d %s\n", rc, err.msg);
    assert_int_equal(rc, KGC_ENOSPC);
    assert_null(f->st);
    assert_non_null(strstr(err.msg, dir2));
    assert_int_equal(umount(mnt), 0);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete_iterate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names_and_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persists_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_schema_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_rejects_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_filesystem, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
