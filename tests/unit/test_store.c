/* tests/unit/test_store.c — LMDB store (server/store/store.c).
 * put/get/del, key limits, prefix iteration (forward, reverse, start, limit), append
 * sequences, del_prefix, batch visibility and on_durable order, map-full recovery, units of
 * work (failure isolation inside one batch, nesting, abort, reads of a unit's own writes,
 * on_durable errors, a unit failing under an iteration, per-unit commits near the end of
 * the map, the map growing with the file's allocated space), and two processes on one directory (mynad + mynactl) via fork.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "myna/store.h"
#include "server/store/accounts.h"

struct fixture {
    char dir[64];
    struct myna_store_env *env;
    struct myna_store *t;
    struct myna_arena *a;
};

static void remove_dir(const char *dir)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/myna-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    if (myna_store_env_open(f->dir, 16, &f->env) != 0 ||
        myna_store_table(f->env, "test", &f->t) != 0)
        return -1;
    f->a = myna_arena_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    myna_store_env_close(f->env);
    myna_arena_free(f->a);
    remove_dir(f->dir);
    free(f);
    return 0;
}

static void put_s(struct myna_store *t, const char *k, const char *v)
{
    assert_int_equal(myna_store_put(t, k, strlen(k), v, strlen(v)), 0);
}

static void test_put_get_del(void **state)
{
    struct fixture *f = *state;
    void *val;
    size_t len;
    assert_int_equal(myna_store_get(f->t, "k", 1, f->a, &val, &len), MYNA_STORE_NOTFOUND);
    put_s(f->t, "k", "value");
    assert_int_equal(myna_store_get(f->t, "k", 1, f->a, &val, &len), 0);
    assert_int_equal(len, 5);
    assert_string_equal(val, "value"); /* NUL after the last byte */
    put_s(f->t, "k", "v2");
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(myna_store_get(f->t, "k", 1, f->a, &val, &len), 0);
    assert_string_equal(val, "v2");
    assert_int_equal(myna_store_del(f->t, "k", 1), 0);
    assert_int_equal(myna_store_del(f->t, "k", 1), 0); /* absent is fine */
    assert_int_equal(myna_store_get(f->t, "k", 1, f->a, &val, &len), MYNA_STORE_NOTFOUND);
    /* Empty values and binary keys. */
    assert_int_equal(myna_store_put(f->t, "a\0b", 3, "", 0), 0);
    assert_int_equal(myna_store_get(f->t, "a\0b", 3, f->a, &val, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    /* Tables are separate. */
    struct myna_store *other, *again;
    assert_int_equal(myna_store_table(f->env, "other", &other), 0);
    assert_int_equal(myna_store_table(f->env, "other", &again), 0);
    assert_ptr_equal(other, again);
    assert_int_equal(myna_store_get(other, "a\0b", 3, f->a, &val, &len), MYNA_STORE_NOTFOUND);
}

static void test_key_limits(void **state)
{
    struct fixture *f = *state;
    char key[600];
    memset(key, 'k', sizeof(key));
    assert_int_equal(myna_store_put(f->t, key, 511, "v", 1), 0);
    assert_int_equal(myna_store_put(f->t, key, 512, "v", 1), MYNA_STORE_TOOBIG);
    void *val;
    size_t len;
    assert_int_equal(myna_store_get(f->t, key, 512, f->a, &val, &len), MYNA_STORE_TOOBIG);
    /* The batch survives a refused key. */
    assert_true(myna_store_env_dirty(f->env));
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(myna_store_get(f->t, key, 511, f->a, &val, &len), 0);
    assert_string_equal(myna_store_strerror(MYNA_STORE_TOOBIG), "key too long");
}

/* myna_store_key: "user\0rest" with NULs inside rest kept, the bare prefix with rest NULL,
 * and del_prefix of that prefix reaching the user's keys but not a longer JID's. */
static void test_store_key(void **state)
{
    struct fixture *f = *state;
    size_t kl, pl, ol;
    const char *k = myna_store_key(f->a, "bob@x", "a\0b", 3, &kl);
    assert_int_equal(kl, 9);
    assert_memory_equal(k, "bob@x\0a\0b", 9);
    assert_int_equal(k[9], '\0');
    const char *p = myna_store_key(f->a, "bob@x", NULL, 5, &pl);
    assert_int_equal(pl, 6);
    assert_memory_equal(p, "bob@x\0", 6);
    const char *o = myna_store_key(f->a, "bob@xy", "a", 1, &ol);
    assert_int_equal(myna_store_put(f->t, k, kl, "1", 1), 0);
    assert_int_equal(myna_store_put(f->t, o, ol, "2", 1), 0);
    size_t n = 0;
    assert_int_equal(myna_store_del_prefix(f->t, p, pl, &n), 0);
    assert_int_equal(n, 1);
    void *val;
    size_t len;
    assert_int_equal(myna_store_get(f->t, o, ol, f->a, &val, &len), 0);
    assert_int_equal(myna_store_get(f->t, k, kl, f->a, &val, &len), MYNA_STORE_NOTFOUND);
}

struct seen {
    char keys[32][16];
    int n;
    int stop_at;
};

static int collect(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct seen *s = data;
    snprintf(s->keys[s->n], sizeof(s->keys[0]), "%.*s", (int)klen, (const char *)key);
    s->n++;
    return s->n == s->stop_at ? 42 : 0;
}

static void fill_iter(struct myna_store *t)
{
    const char *keys[] = {"a", "u1\x01", "u1\x01" "a", "u1\x01" "b", "u1\x01" "c", "u1\x02",
                          "u2\x01" "a", "z"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        put_s(t, keys[i], "v");
}

static void check_iter(struct fixture *f)
{
    struct seen s = {0};
    assert_int_equal(myna_store_iter(f->t, "u1\x01", 3, NULL, 0, false, 0, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.keys[0], "u1\x01");
    assert_string_equal(s.keys[3], "u1\x01" "c");

    memset(&s, 0, sizeof(s));
    assert_int_equal(myna_store_iter(f->t, "u1\x01", 3, NULL, 0, true, 0, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.keys[0], "u1\x01" "c");
    assert_string_equal(s.keys[3], "u1\x01");

    /* start: forward from "b", reverse from "b" (inclusive), reverse from between keys */
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u1\x01", 3, "u1\x01" "b", 4, false, 0, collect, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "u1\x01" "b");
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u1\x01", 3, "u1\x01" "b", 4, true, 0, collect, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "u1\x01" "b");
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u1\x01", 3, "u1\x01" "bb", 5, true, 0, collect, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "u1\x01" "b");
    /* start beyond the prefix range (reverse: clamps to the last key under prefix) */
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u1\x01", 3, "zzz", 3, true, 0, collect, &s);
    assert_int_equal(s.n, 4);
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u1\x01", 3, "zzz", 3, false, 0, collect, &s);
    assert_int_equal(s.n, 0);
    /* start before the prefix: forward starts at the prefix */
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u1\x01", 3, "a", 1, false, 0, collect, &s);
    assert_int_equal(s.n, 4);

    /* limit, and stopping with a value */
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u1\x01", 3, NULL, 0, true, 2, collect, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[1], "u1\x01" "b");
    memset(&s, 0, sizeof(s));
    s.stop_at = 3;
    assert_int_equal(myna_store_iter(f->t, "u1", 2, NULL, 0, false, 0, collect, &s), 42);
    assert_int_equal(s.n, 3);

    /* empty prefix: everything; prefix with no keys: nothing */
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "", 0, NULL, 0, false, 0, collect, &s);
    assert_int_equal(s.n, 8);
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, NULL, 0, NULL, 0, true, 0, collect, &s);
    assert_int_equal(s.n, 8);
    assert_string_equal(s.keys[0], "z");
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, NULL, 0, "u2", 2, false, 0, collect, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "u2\x01" "a");
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "u3", 2, NULL, 0, true, 0, collect, &s);
    assert_int_equal(s.n, 0);
    /* 0xff prefixes have no upper bound key */
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "\xff", 1, NULL, 0, true, 0, collect, &s);
    assert_int_equal(s.n, 0);
}

static void test_iter(void **state)
{
    struct fixture *f = *state;
    fill_iter(f->t);
    check_iter(f); /* inside the batch */
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_false(myna_store_env_dirty(f->env));
    check_iter(f); /* committed, through the read txn */
}

struct nested {
    struct myna_store *t;
    struct myna_arena *a;
    int n;
};

/* Reads and writes from inside an iteration callback. */
static int nested_cb(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct nested *n = data;
    void *v;
    size_t l;
    assert_int_equal(myna_store_get(n->t, key, klen, n->a, &v, &l), 0);
    char k2[32];
    snprintf(k2, sizeof(k2), "copy%d", n->n++);
    assert_int_equal(myna_store_put(n->t, k2, strlen(k2), "x", 1), 0);
    return 0;
}

static void test_nested(void **state)
{
    struct fixture *f = *state;
    put_s(f->t, "n1", "a");
    put_s(f->t, "n2", "b");
    assert_int_equal(myna_store_env_flush(f->env), 0);
    struct nested n = {f->t, f->a, 0};
    assert_int_equal(myna_store_iter(f->t, "n", 1, NULL, 0, false, 0, nested_cb, &n), 0);
    assert_int_equal(n.n, 2);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    void *v;
    size_t l;
    assert_int_equal(myna_store_get(f->t, "copy1", 5, f->a, &v, &l), 0);
}

static void test_append(void **state)
{
    struct fixture *f = *state;
    uint64_t seq = 0;
    assert_int_equal(myna_store_append(f->t, "q\0", 2, "one", 3, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(myna_store_append(f->t, "q\0", 2, "two", 3, &seq), 0);
    assert_int_equal(seq, 2);
    /* Another queue, whose prefix sorts right after: independent numbering. */
    assert_int_equal(myna_store_append(f->t, "q\1", 2, "x", 1, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(myna_store_append(f->t, "q\0", 2, "three", 5, &seq), 0);
    assert_int_equal(seq, 3);
    /* A non-sequence key under the prefix is skipped. */
    put_s(f->t, "q\0zzzzzzzzzz", "odd");
    assert_int_equal(myna_store_append(f->t, "q\0", 2, "four", 4, NULL), 0);

    unsigned char key[10];
    myna_store_seq_key("q\0", 2, 4, key);
    assert_memory_equal(key, "q\0\0\0\0\0\0\0\0\4", 10);
    void *v;
    size_t l;
    assert_int_equal(myna_store_get(f->t, key, 10, f->a, &v, &l), 0);
    assert_string_equal(v, "four");

    /* Sequence numbers keep growing after deletes of older entries, not of the last. */
    myna_store_seq_key("q\0", 2, 1, key);
    assert_int_equal(myna_store_del(f->t, key, 10), 0);
    assert_int_equal(myna_store_append(f->t, "q\0", 2, "five", 4, &seq), 0);
    assert_int_equal(seq, 5);
    /* Big sequence numbers (byte order). */
    myna_store_seq_key("r", 1, 0x1ff, key);
    assert_int_equal(myna_store_put(f->t, key, 9, "x", 1), 0);
    assert_int_equal(myna_store_append(f->t, "r", 1, "y", 1, &seq), 0);
    assert_int_equal(seq, 0x200);
}

static void test_del_prefix(void **state)
{
    struct fixture *f = *state;
    fill_iter(f->t);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    size_t count = 99;
    assert_int_equal(myna_store_del_prefix(f->t, "u1\x01", 3, &count), 0);
    assert_int_equal(count, 4);
    assert_int_equal(myna_store_del_prefix(f->t, "u1\x01", 3, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    struct seen s = {0};
    myna_store_iter(f->t, "", 0, NULL, 0, false, 0, collect, &s);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.keys[1], "u1\x02");
    assert_int_equal(myna_store_del_prefix(f->t, "", 0, NULL), 0);
    memset(&s, 0, sizeof(s));
    myna_store_iter(f->t, "", 0, NULL, 0, false, 0, collect, &s);
    assert_int_equal(s.n, 0);
}

struct calls {
    int order[8];
    int err[8];
    int n;
};

static struct calls calls;

static void durable_cb(void *data, int err)
{
    calls.order[calls.n] = (int)(intptr_t)data;
    calls.err[calls.n] = err;
    calls.n++;
}

static void test_durable(void **state)
{
    struct fixture *f = *state;
    memset(&calls, 0, sizeof(calls));
    /* Nothing written: runs at the next flush ("end of the loop iteration"), which the
     * waiting callback asks for (the loop flushes only when the env is dirty). */
    assert_false(myna_store_env_dirty(f->env));
    myna_store_on_durable(f->t, durable_cb, (void *)1);
    assert_int_equal(calls.n, 0);
    assert_true(myna_store_env_dirty(f->env));
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(calls.n, 1);

    put_s(f->t, "d1", "x");
    assert_true(myna_store_env_dirty(f->env));
    myna_store_on_durable(f->t, durable_cb, (void *)2);
    put_s(f->t, "d2", "x");
    myna_store_on_durable(f->t, durable_cb, (void *)3);
    assert_int_equal(calls.n, 1);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(calls.n, 3);
    assert_int_equal(calls.order[1], 2);
    assert_int_equal(calls.order[2], 3);
    assert_int_equal(calls.err[1], 0);
    assert_int_equal(calls.err[2], 0);
    assert_false(myna_store_env_dirty(f->env));
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(calls.n, 3);
}

static void test_map_full(void **state)
{
    char dir[64] = "/tmp/myna-full-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct myna_store_env *env;
    struct myna_store *t;
    struct myna_arena *a = myna_arena_new();
    assert_int_equal(myna_store_env_open(dir, 1, &env), 0);
    assert_int_equal(myna_store_table(env, "t", &t), 0);
    memset(&calls, 0, sizeof(calls));
    put_s(t, "keep", "x");
    myna_store_on_durable(t, durable_cb, (void *)7);
    static char big[64 * 1024];
    int rc = 0;
    for (int i = 0; i < 64 && rc == 0; i++) {
        char k[16];
        snprintf(k, sizeof(k), "big%d", i);
        rc = myna_store_put(t, k, strlen(k), big, sizeof(big));
    }
    assert_int_equal(rc, MYNA_STORE_FULL);
    /* Only the failed write is lost (each write outside a unit is a unit of its own). */
    void *v;
    size_t l;
    assert_int_equal(myna_store_get(t, "keep", 4, a, &v, &l), 0);
    put_s(t, "after", "y");
    myna_store_on_durable(t, durable_cb, (void *)8);
    assert_int_equal(myna_store_env_flush(env), 0);
    assert_int_equal(calls.n, 2);
    assert_int_equal(calls.order[0], 7);
    assert_int_equal(calls.err[0], 0);
    assert_int_equal(calls.order[1], 8);
    assert_int_equal(calls.err[1], 0);
    assert_int_equal(myna_store_get(t, "after", 5, a, &v, &l), 0);
    assert_int_equal(myna_store_get(t, "keep", 4, a, &v, &l), 0);
    struct myna_store_stats st;
    myna_store_env_stats(env, &st);
    assert_true(st.full >= 1);
    assert_true(st.write_failures >= 1);
    assert_int_equal(st.commit_failures, 0);
    assert_int_equal(st.map_bytes, 1024 * 1024);
    assert_true(st.used_bytes > 0 && st.used_bytes <= st.map_bytes);
    myna_store_env_close(env);
    myna_arena_free(a);
    remove_dir(dir);
}

/* The map covers only the file's allocated part and grows ahead of the data: 64 MiB of
 * writes, then a 48 MiB burst without a flush, into a 256 MiB map all succeed; the map and
 * the file grow together, in steps. */
static void test_map_grows(void **state)
{
    (void)state;
    char dir[64] = "/tmp/myna-grow-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    struct myna_store_env *env;
    struct myna_store *t;
    assert_int_equal(myna_store_env_open(dir, 256, &env), 0);
    assert_int_equal(myna_store_table(env, "t", &t), 0);
    struct myna_store_stats st;
    myna_store_env_stats(env, &st);
    uint64_t first = st.map_bytes;
    assert_true(first >= 32 * 1024 * 1024 && first < 64 * 1024 * 1024);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true((uint64_t)sb.st_size >= first);          /* the map is inside the file */
    assert_true((uint64_t)sb.st_blocks * 512 >= first); /* ... and the file has the blocks */
    static char big[256 * 1024];
    for (int i = 0; i < 256; i++) {
        char k[16];
        snprintf(k, sizeof(k), "big%03d", i);
        assert_int_equal(myna_store_put(t, k, strlen(k), big, sizeof(big)), 0);
        if (i % 16 == 15)
            assert_int_equal(myna_store_env_flush(env), 0);
    }
    assert_int_equal(myna_store_env_flush(env), 0);
    /* A burst of requests in one loop iteration (no flush) bigger than the room the batch
     * opened with: committed early between requests, so the map grows under it. */
    for (int i = 0; i < 192; i++) {
        char k[16];
        snprintf(k, sizeof(k), "burst%03d", i);
        assert_int_equal(myna_store_env_unit_begin(env), 0);
        assert_int_equal(myna_store_put(t, k, strlen(k), big, sizeof(big)), 0);
        assert_int_equal(myna_store_env_unit_commit(env), 0);
    }
    assert_int_equal(myna_store_env_flush(env), 0);
    myna_store_env_stats(env, &st);
    assert_true(st.map_bytes > first && st.map_bytes < 256u * 1024 * 1024);
    assert_true(st.used_bytes >= 112u * 1024 * 1024);
    assert_int_equal(st.full, 0);
    assert_int_equal(st.commit_failures, 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_true((uint64_t)sb.st_blocks * 512 >= st.map_bytes);
    myna_store_env_close(env);
    /* Opened again: the map is the file's allocated size, not store_map_mb. */
    assert_int_equal(myna_store_env_open(dir, 256, &env), 0);
    uint64_t before = st.map_bytes;
    myna_store_env_stats(env, &st);
    assert_true(st.map_bytes >= before && st.map_bytes < 256u * 1024 * 1024);
    myna_store_env_close(env);
    remove_dir(dir);
}

static int fill_unit(struct myna_store *t, const char *tag)
{
    static char big[64 * 1024];
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++) {
        char k[32];
        snprintf(k, sizeof(k), "%s%d", tag, i);
        rc = myna_store_put(t, k, strlen(k), big, sizeof(big));
    }
    return rc;
}

/* Three requests in one batch: the middle one fills the map. Only its writes are lost, the
 * batch stays usable, and the first and last requests' writes are committed. */
static void test_unit_isolation(void **state)
{
    struct fixture *f = *state;
    void *v;
    size_t l;
    memset(&calls, 0, sizeof(calls));
    assert_int_equal(myna_store_unit_begin(f->t), 0);
    put_s(f->t, "alice", "roster");
    myna_store_on_durable(f->t, durable_cb, (void *)1);
    assert_int_equal(myna_store_unit_commit(f->t), 0);
    assert_true(myna_store_env_dirty(f->env)); /* grouped: not committed yet */

    assert_int_equal(myna_store_unit_begin(f->t), 0);
    put_s(f->t, "bob", "first write of the failing request");
    myna_store_on_durable(f->t, durable_cb, (void *)2);
    assert_int_equal(fill_unit(f->t, "big"), MYNA_STORE_FULL);
    assert_int_equal(myna_store_unit_error(f->t), MYNA_STORE_FULL);
    /* Poisoned: a small write fails too, and the unit's earlier writes are gone. */
    assert_int_equal(myna_store_put(f->t, "bob2", 4, "x", 1), MYNA_STORE_FULL);
    assert_int_equal(myna_store_get(f->t, "bob", 3, f->a, &v, &l), MYNA_STORE_NOTFOUND);
    assert_int_equal(myna_store_get(f->t, "alice", 5, f->a, &v, &l), 0);
    assert_int_equal(myna_store_unit_commit(f->t), MYNA_STORE_FULL);

    assert_int_equal(myna_store_unit_begin(f->t), 0);
    assert_int_equal(myna_store_unit_error(f->t), 0);
    put_s(f->t, "carol", "later request");
    myna_store_on_durable(f->t, durable_cb, (void *)3);
    assert_int_equal(myna_store_unit_commit(f->t), 0);
    assert_int_equal(myna_store_env_flush(f->env), 0);

    assert_int_equal(myna_store_get(f->t, "alice", 5, f->a, &v, &l), 0);
    assert_int_equal(myna_store_get(f->t, "carol", 5, f->a, &v, &l), 0);
    assert_int_equal(myna_store_get(f->t, "bob", 3, f->a, &v, &l), MYNA_STORE_NOTFOUND);
    assert_int_equal(myna_store_get(f->t, "big0", 4, f->a, &v, &l), MYNA_STORE_NOTFOUND);
    assert_int_equal(calls.n, 3);
    assert_int_equal(calls.err[0], 0);
    assert_int_equal(calls.err[1], MYNA_STORE_FULL);
    assert_int_equal(calls.err[2], 0);
    struct myna_store_stats st;
    myna_store_env_stats(f->env, &st);
    assert_int_equal(st.write_failures, 1);
    assert_true(st.full >= 1);
    assert_int_equal(st.commit_failures, 0);
}

static int count_cb(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    (*(int *)data)++;
    return 0;
}

/* Reads inside a unit see its writes; an inner unit's abort keeps the outer unit and the
 * batch; an aborted outer unit leaves the batch usable. */
static void test_unit_nesting(void **state)
{
    struct fixture *f = *state;
    void *v;
    size_t l;
    int n = 0;
    memset(&calls, 0, sizeof(calls));
    put_s(f->t, "u0", "outside any unit");
    assert_int_equal(myna_store_unit_begin(f->t), 0);
    put_s(f->t, "u1", "outer");
    assert_int_equal(myna_store_get(f->t, "u1", 2, f->a, &v, &l), 0);
    assert_int_equal(myna_store_unit_begin(f->t), 0);
    assert_int_equal(myna_store_get(f->t, "u1", 2, f->a, &v, &l), 0); /* sees the outer */
    put_s(f->t, "u2", "inner");
    myna_store_on_durable(f->t, durable_cb, (void *)1);
    assert_int_equal(myna_store_iter(f->t, "u", 1, NULL, 0, false, 0, count_cb, &n), 0);
    assert_int_equal(n, 3);
    myna_store_unit_abort(f->t);
    assert_int_equal(myna_store_get(f->t, "u2", 2, f->a, &v, &l), MYNA_STORE_NOTFOUND);
    assert_int_equal(myna_store_get(f->t, "u1", 2, f->a, &v, &l), 0);
    assert_int_equal(myna_store_unit_error(f->t), 0); /* the outer unit is intact */
    /* A deeper unit commits into the outer one, not into the batch. */
    assert_int_equal(myna_store_unit_begin(f->t), 0);
    put_s(f->t, "u3", "inner kept");
    assert_int_equal(myna_store_unit_commit(f->t), 0);
    assert_int_equal(myna_store_unit_commit(f->t), 0);

    assert_int_equal(myna_store_unit_begin(f->t), 0);
    put_s(f->t, "x", "aborted");
    myna_store_on_durable(f->t, durable_cb, (void *)2);
    myna_store_unit_abort(f->t);
    myna_store_on_durable(f->t, durable_cb, (void *)3);
    assert_true(myna_store_env_dirty(f->env));
    assert_int_equal(myna_store_get(f->t, "x", 1, f->a, &v, &l), MYNA_STORE_NOTFOUND);

    /* A unit that only reads opens no transaction. */
    assert_int_equal(myna_store_unit_begin(f->t), 0);
    assert_int_equal(myna_store_get(f->t, "u0", 2, f->a, &v, &l), 0);
    assert_int_equal(myna_store_unit_commit(f->t), 0);

    assert_int_equal(myna_store_env_flush(f->env), 0);
    const char *kept[] = {"u0", "u1", "u3"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(myna_store_get(f->t, kept[i], 2, f->a, &v, &l), 0);
    assert_int_equal(myna_store_get(f->t, "u2", 2, f->a, &v, &l), MYNA_STORE_NOTFOUND);
    assert_int_equal(calls.n, 3);
    assert_int_equal(calls.err[0], MYNA_STORE_ABORTED);
    assert_int_equal(calls.err[1], MYNA_STORE_ABORTED);
    assert_int_equal(calls.err[2], 0);
    /* Unbalanced use is refused, not fatal. */
    assert_int_equal(myna_store_unit_commit(f->t), MYNA_STORE_ERROR);
    for (int i = 0; i < 8; i++)
        assert_int_equal(myna_store_unit_begin(f->t), 0);
    assert_int_equal(myna_store_unit_begin(f->t), MYNA_STORE_ERROR);
    for (int i = 0; i < 8; i++)
        assert_int_equal(myna_store_unit_commit(f->t), 0);
}

struct failing_iter {
    struct myna_store *t;
    int seen;
};

/* On the second key, a write that fills the map: the unit (and the transaction the
 * iteration reads) is aborted under the iteration, which must go on safely. */
static int failing_cb(const void *key, size_t klen, const void *val, size_t len, void *data)
{
    struct failing_iter *fi = data;
    if (++fi->seen == 2)
        assert_int_equal(fill_unit(fi->t, "huge"), MYNA_STORE_FULL);
    return 0;
}

static void test_unit_fails_during_iteration(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof(k), "i%d", i);
        put_s(f->t, k, "v");
    }
    assert_int_equal(myna_store_unit_begin(f->t), 0);
    put_s(f->t, "i5", "in the unit: the iteration reads the unit's txn");
    struct failing_iter fi = {f->t, 0};
    assert_int_equal(myna_store_iter(f->t, "i", 1, NULL, 0, false, 0, failing_cb, &fi), 0);
    /* i5 was the unit's own write and went with it; the batch's five keys are all seen. */
    assert_int_equal(fi.seen, 5);
    assert_int_equal(myna_store_unit_commit(f->t), MYNA_STORE_FULL);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    int n = 0;
    myna_store_iter(f->t, "i", 1, NULL, 0, false, 0, count_cb, &n);
    assert_int_equal(n, 5);
}

/* Near the end of the map every outermost unit commits on its own, so a failing commit can
 * only fail the unit that caused it; iterations whose callback commits go on. */
static void test_careful(void **state)
{
    char dir[64] = "/tmp/myna-careful-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct myna_store_env *env;
    struct myna_store *t;
    struct myna_arena *a = myna_arena_new();
    assert_int_equal(myna_store_env_open(dir, 1, &env), 0);
    assert_int_equal(myna_store_table(env, "t", &t), 0);
    assert_int_equal(myna_store_unit_begin(t), 0);
    put_s(t, "n1", "a");
    put_s(t, "n2", "b");
    assert_int_equal(myna_store_unit_commit(t), 0);
    struct myna_store_stats st;
    myna_store_env_stats(env, &st);
    assert_true(st.careful);
    assert_false(myna_store_env_dirty(env)); /* committed with the unit */
    /* Writes from an iteration callback, each committed at once. */
    struct nested n = {t, a, 0};
    assert_int_equal(myna_store_iter(t, "n", 1, NULL, 0, false, 0, nested_cb, &n), 0);
    assert_int_equal(n.n, 2);
    put_s(t, "n3", "c"); /* the batch is open now: the next iteration reads it */
    n.n = 0;
    assert_int_equal(myna_store_iter(t, "n", 1, NULL, 0, false, 0, nested_cb, &n), 0);
    assert_int_equal(n.n, 3);
    assert_int_equal(myna_store_env_flush(env), 0);
    void *v;
    size_t l;
    assert_int_equal(myna_store_get(t, "copy2", 5, a, &v, &l), 0);
    myna_store_env_close(env);
    myna_arena_free(a);
    remove_dir(dir);
}

/* Child process: open the same directory (like mynactl), do `what`, exit with a code. */
static int child_run(const char *dir, int what)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct myna_store_env *env;
        struct myna_store *t;
        struct myna_arena *a = myna_arena_new();
        void *v;
        size_t l;
        int code = 0;
        if (myna_store_env_open(dir, 16, &env) != 0 || myna_store_table(env, "test", &t) != 0)
            _exit(10);
        switch (what) {
        case 1: /* read the parent's key */
            code = myna_store_get(t, "p", 1, a, &v, &l) == 0 ? 1 : 0;
            break;
        case 2: /* write a key of our own and commit */
            code = myna_store_put(t, "c", 1, "child", 5) == 0 &&
                           myna_store_env_flush(env) == 0
                       ? 2
                       : 11;
            break;
        }
        myna_store_env_close(env);
        myna_arena_free(a);
        _exit(code);
    }
    return pid;
}

static int child_wait(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_two_processes(void **state)
{
    struct fixture *f = *state;
    void *v;
    size_t l;
    put_s(f->t, "p", "parent");
    /* Uncommitted: invisible to the other process. */
    assert_int_equal(child_wait(child_run(f->dir, 1)), 0);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(child_wait(child_run(f->dir, 1)), 1);

    /* The child writes while we hold a batch: it waits for our commit, no deadlock. */
    put_s(f->t, "p2", "x");
    pid_t pid = child_run(f->dir, 2);
    usleep(100 * 1000);
    assert_int_equal(myna_store_env_flush(f->env), 0);
    assert_int_equal(child_wait(pid), 2);
    /* And we see its write from a fresh read. */
    assert_int_equal(myna_store_get(f->t, "c", 1, f->a, &v, &l), 0);
    assert_string_equal(v, "child");
}

static void list_cb(const char *node, void *data)
{
    struct seen *s = data;
    snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", node);
}

/* accounts.c on top of the store: record round trip, exists, list per host, delete. */
static void test_accounts(void **state)
{
    struct fixture *f = *state;
    struct account acc, got;
    assert_int_equal(account_derive("pencil", 0, &acc), 0);
    assert_int_equal(acc.sha1.iterations, ACCOUNT_ITERATIONS);
    assert_int_equal(account_put(f->t, "juliet", "example.com", &acc, false), 0);
    assert_int_equal(account_put(f->t, "juliet", "example.com", &acc, false), ACCOUNT_EXISTS);
    assert_int_equal(account_put(f->t, "romeo", "example.com", &acc, false), 0);
    assert_int_equal(account_put(f->t, "nurse", "example.org", &acc, false), 0);
    assert_int_equal(myna_store_env_flush(f->env), 0);

    assert_int_equal(account_get(f->t, "juliet", "example.com", &got), 0);
    assert_memory_equal(&got.sha1, &acc.sha1, sizeof(acc.sha1));
    assert_memory_equal(&got.sha256, &acc.sha256, sizeof(acc.sha256));
    assert_true(scram_check_password(&got.sha256, "pencil"));
    assert_false(scram_check_password(&got.sha1, "pencil2"));
    assert_int_equal(account_get(f->t, "juliet", "example.org", &got), ACCOUNT_NOTFOUND);
    assert_true(account_exists(f->t, "romeo", "example.com"));
    assert_false(account_exists(f->t, "romeo", "example.org"));

    struct seen s = {0};
    assert_int_equal(account_list(f->t, "example.com", list_cb, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "juliet");
    assert_string_equal(s.keys[1], "romeo");

    /* Replace changes the credentials. */
    struct account acc2;
    assert_int_equal(account_derive("other", 0, &acc2), 0);
    assert_int_equal(account_put(f->t, "juliet", "example.com", &acc2, true), 0);
    assert_int_equal(account_get(f->t, "juliet", "example.com", &got), 0);
    assert_true(scram_check_password(&got.sha1, "other"));

    assert_int_equal(account_delete(f->t, "juliet", "example.com"), 0);
    assert_int_equal(account_delete(f->t, "juliet", "example.com"), ACCOUNT_NOTFOUND);
    assert_false(account_exists(f->t, "juliet", "example.com"));

    /* A corrupt record is an error, not garbage credentials. */
    assert_int_equal(myna_store_put(f->t, "bad@example.com", 15, "\x01\x02\x00", 3), 0);
    assert_int_equal(account_get(f->t, "bad", "example.com", &got), MYNA_STORE_ERROR);
}

/* Accounts with one hash (imported from Prosody 0.12: SHA-1 only): stored and read back as
 * such, counted per host so the host stops offering SCRAM-SHA-256, completed by the first
 * PLAIN login with the stored iteration count. */
static void test_accounts_partial(void **state)
{
    struct fixture *f = *state;
    struct account full, sha1only, got;
    assert_int_equal(account_derive("pencil", 0, &full), 0);
    sha1only = full;
    assert_int_equal(scram_credentials_make(SCRAM_SHA1, "tiger", NULL, 0, 10000,
                                            &sha1only.sha1), 0);
    sha1only.hashes = ACCOUNT_HAS(SCRAM_SHA1);
    assert_int_equal(account_host_hashes(f->t, "example.com"), ACCOUNT_ALL);
    assert_int_equal(account_put(f->t, "juliet", "example.com", &full, false), 0);
    assert_int_equal(account_put(f->t, "romeo", "example.com", &sha1only, false), 0);
    assert_int_equal(account_put(f->t, "tybalt", "example.com", &sha1only, false), 0);
    assert_int_equal(account_host_hashes(f->t, "example.com"), ACCOUNT_HAS(SCRAM_SHA1));
    assert_int_equal(account_missing(f->t, "example.com", SCRAM_SHA256), 2);
    assert_int_equal(account_missing(f->t, "example.com", SCRAM_SHA1), 0);
    assert_int_equal(account_host_hashes(f->t, "example.org"), ACCOUNT_ALL);
    assert_int_equal(myna_store_env_flush(f->env), 0);

    assert_int_equal(account_get(f->t, "romeo", "example.com", &got), 0);
    assert_int_equal(got.hashes, ACCOUNT_HAS(SCRAM_SHA1));
    assert_null(account_cred(&got, SCRAM_SHA256));
    assert_int_equal(account_cred(&got, SCRAM_SHA1)->iterations, 10000);
    assert_true(account_check_password(&got, "tiger"));
    assert_false(account_check_password(&got, "pencil"));

    /* The counter marker is not an account. */
    struct seen s = {0};
    assert_int_equal(account_list(f->t, "example.com", list_cb, &s), 0);
    assert_int_equal(s.n, 3);

    /* PLAIN login: complete and upgrade, keeping the iteration count. */
    struct account done = got;
    assert_true(account_complete(&done, "tiger"));
    assert_int_equal(done.hashes, ACCOUNT_ALL);
    assert_int_equal(done.sha256.iterations, 10000);
    assert_true(scram_check_password(&done.sha256, "tiger"));
    assert_false(account_complete(&done, "tiger"));
    assert_int_equal(account_upgrade(f->t, "romeo", "example.com", &got, &done), 0);
    assert_int_equal(account_missing(f->t, "example.com", SCRAM_SHA256), 1);
    /* A password changed meanwhile is not overwritten by a stale upgrade. */
    struct account tyb;
    assert_int_equal(account_get(f->t, "tybalt", "example.com", &tyb), 0);
    assert_int_equal(account_put(f->t, "tybalt", "example.com", &full, true), 0);
    assert_int_equal(account_host_hashes(f->t, "example.com"), ACCOUNT_ALL);
    struct account tyb_done = tyb;
    assert_true(account_complete(&tyb_done, "tiger"));
    assert_int_equal(account_upgrade(f->t, "tybalt", "example.com", &tyb, &tyb_done), 0);
    assert_int_equal(account_get(f->t, "tybalt", "example.com", &got), 0);
    assert_true(account_check_password(&got, "pencil"));

    /* Deleting an incomplete account releases its count; SHA-256-only counts the other way. */
    struct account sha256only = full;
    sha256only.hashes = ACCOUNT_HAS(SCRAM_SHA256);
    assert_int_equal(account_put(f->t, "nurse", "example.com", &sha256only, false), 0);
    assert_int_equal(account_host_hashes(f->t, "example.com"), ACCOUNT_HAS(SCRAM_SHA256));
    assert_int_equal(account_delete(f->t, "nurse", "example.com"), 0);
    assert_int_equal(account_host_hashes(f->t, "example.com"), ACCOUNT_ALL);

    /* A long imported salt (Prosody: a 36-character UUID) fits. */
    unsigned char salt[36];
    memset(salt, 'x', sizeof salt);
    struct account longsalt = {.hashes = ACCOUNT_HAS(SCRAM_SHA1)};
    assert_int_equal(scram_credentials_make(SCRAM_SHA1, "x", salt, sizeof salt, 4096,
                                            &longsalt.sha1), 0);
    assert_int_equal(account_put(f->t, "paris", "example.com", &longsalt, false), 0);
    assert_int_equal(account_get(f->t, "paris", "example.com", &got), 0);
    assert_int_equal(got.sha1.salt_len, 36);
    assert_true(account_check_password(&got, "x"));
    /* No credential at all is refused. */
    struct account none = {0};
    assert_int_equal(account_put(f->t, "ghost", "example.com", &none, false), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durable, setup, teardown),
        cmocka_unit_test(test_map_full),
        cmocka_unit_test(test_map_grows),
        cmocka_unit_test_setup_teardown(test_unit_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unit_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unit_fails_during_iteration, setup, teardown),
        cmocka_unit_test(test_careful),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accounts_partial, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
