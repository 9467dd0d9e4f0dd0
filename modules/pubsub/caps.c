/* modules/pubsub/caps.c — entity capabilities (XEP-0115) for PEP's filtered notifications
 * (XEP-0163 §4.2): the verification string of §5.1 recomputed from a disco#info answer, the
 * checks of §5.4 (duplicate identities, features or FORM_TYPEs make the answer ill-formed;
 * forms without a hidden FORM_TYPE are ignored), and one cache of verified answers keyed
 * by "node#ver", shared by every host and account of the process (the module's one piece
 * of process-wide state, created by the first instance and freed by the last). Answers that
 * cannot be verified (unknown hash, mismatch, legacy caps) are kept only for the JID that
 * gave them (§5.4: "associate ... only with the JabberID"). Entries are reference counted:
 * the cache holds one reference, each watcher (pep.c) one more.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"

#define CAPS_BUCKETS 1024
#define CAPS_MAX 4096 /* verified entries kept; unreferenced ones are evicted beyond it */

struct caps_entry {
    char *key;            /* "node#ver" when in the global cache, else NULL */
    char **features;      /* sorted, for bsearch */
    size_t nfeatures;
    unsigned refs;
    struct caps_entry *next; /* bucket chain */
};

static struct {
    unsigned users; /* module instances alive */
    struct caps_entry *buckets[CAPS_BUCKETS];
    size_t count;
} cache;

static unsigned bucket_of(const char *key)
{
    /* "node#ver" comes from peers: a keyed hash, so no one can fill one bucket. */
    return (unsigned)(myna_hash(key, strlen(key)) % CAPS_BUCKETS);
}

static void entry_free(struct caps_entry *e)
{
    for (size_t i = 0; i < e->nfeatures; i++)
        free(e->features[i]);
    free(e->features);
    free(e->key);
    free(e);
}

void caps_global_ref(void)
{
    cache.users++;
}

void caps_global_unref(void)
{
    if (--cache.users > 0)
        return;
    for (size_t b = 0; b < CAPS_BUCKETS; b++) {
        while (cache.buckets[b]) {
            struct caps_entry *e = cache.buckets[b];
            cache.buckets[b] = e->next;
            /* Watchers are gone with their instances; only the cache's reference is left. */
            entry_free(e);
        }
    }
    cache.count = 0;
}

struct caps_entry *caps_ref(struct caps_entry *e)
{
    if (e)
        e->refs++;
    return e;
}

void caps_unref(struct caps_entry *e)
{
    if (e && --e->refs == 0)
        entry_free(e);
}

struct caps_entry *caps_lookup(const char *key)
{
    for (struct caps_entry *e = cache.buckets[bucket_of(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return caps_ref(e);
    return NULL;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

bool caps_has(const struct caps_entry *e, const char *feature)
{
    return e && e->nfeatures &&
           bsearch(&feature, e->features, e->nfeatures, sizeof(char *), cmp_str) != NULL;
}

/* Drops unreferenced entries until the cache is under its bound. */
static void cache_evict(void)
{
    for (size_t b = 0; b < CAPS_BUCKETS && cache.count >= CAPS_MAX; b++) {
        for (struct caps_entry **pp = &cache.buckets[b]; *pp && cache.count >= CAPS_MAX;) {
            struct caps_entry *e = *pp;
            if (e->refs == 1) {
                *pp = e->next;
                cache.count--;
                entry_free(e);
            } else {
                pp = &e->next;
            }
        }
    }
}

static void cache_insert(struct caps_entry *e, const char *key)
{
    cache_evict();
    e->key = strdup(key);
    if (!e->key)
        abort();
    e->refs++; /* the cache's own */
    unsigned b = bucket_of(key);
    e->next = cache.buckets[b];
    cache.buckets[b] = e;
    cache.count++;
}

/* ---- XEP-0115 §5.1 verification string ---- */

struct strs {
    const char **v;
    size_t n;
};

static void strs_add(struct myna_arena *a, struct strs *s, const char *x)
{
    s->v = myna_arena_realloc(a, s->v, s->n * sizeof(char *), (s->n + 1) * sizeof(char *));
    s->v[s->n++] = x;
}

static bool strs_sorted_unique(struct strs *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(char *), cmp_str);
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(s->v[i - 1], s->v[i]) == 0)
            return false;
    return true;
}

struct caps_form {
    struct dataform f;
};

static int cmp_form(const void *x, const void *y)
{
    return strcmp(((const struct caps_form *)x)->f.form_type,
                  ((const struct caps_form *)y)->f.form_type);
}

static int cmp_field(const void *x, const void *y)
{
    return strcmp((*(const struct df_field *const *)x)->var,
                  (*(const struct df_field *const *)y)->var);
}

/* Appends one §5.1 step-7 form; false when a field lacks its var. */
static bool append_form(struct myna_arena *a, struct myna_buf *b, const struct dataform *f)
{
    myna_buf_appends(b, f->form_type);
    myna_buf_appends(b, "<");
    const struct df_field **fl = myna_arena_alloc(a, (f->nfields + 1) * sizeof *fl);
    size_t n = 0;
    for (const struct df_field *x = f->fields; x; x = x->next)
        if (x->var)
            fl[n++] = x;
    qsort(fl, n, sizeof *fl, cmp_field);
    for (size_t i = 0; i < n; i++) {
        myna_buf_appends(b, fl[i]->var);
        myna_buf_appends(b, "<");
        const char **vals = myna_arena_alloc(a, (fl[i]->nvalues + 1) * sizeof *vals);
        memcpy(vals, fl[i]->values, fl[i]->nvalues * sizeof *vals);
        qsort(vals, fl[i]->nvalues, sizeof *vals, cmp_str);
        for (size_t k = 0; k < fl[i]->nvalues; k++) {
            myna_buf_appends(b, vals[k]);
            myna_buf_appends(b, "<");
        }
    }
    return true;
}

static const EVP_MD *hash_md(const char *hash)
{
    /* IANA Hash Function Textual Names (XEP-0115 §4, §8.1). */
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } names[] = {{"sha-1", EVP_sha1},     {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
                 {"sha-384", EVP_sha384}, {"sha-512", EVP_sha512}};
    for (size_t i = 0; hash && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(hash, names[i].name) == 0)
            return names[i].md();
    return NULL;
}

/* Builds S of §5.1 into b; false when the answer is ill-formed (§5.4 steps 3.3-3.5). */
static bool build_s(struct myna_arena *a, const struct myna_xml *q, struct myna_buf *b)
{
    struct strs ids = {0}, feats = {0};
    struct caps_form *forms = NULL;
    size_t nforms = 0;
    for (const struct myna_xml *el = myna_xml_first_element(q); el;
         el = myna_xml_find_next(el, NULL, NULL)) {
        if (myna_xml_is(el, NS_DISCO_INFO, "identity")) {
            const char *cat = myna_xml_attr(el, "category"), *type = myna_xml_attr(el, "type");
            const char *lang = myna_xml_attr(el, "xml:lang"), *name = myna_xml_attr(el, "name");
            if (!cat || !type)
                return false;
            strs_add(a, &ids, myna_arena_printf(a, "%s/%s/%s/%s", cat, type, lang ? lang : "",
                                                name ? name : ""));
        } else if (myna_xml_is(el, NS_DISCO_INFO, "feature")) {
            const char *var = myna_xml_attr(el, "var");
            if (!var)
                return false;
            strs_add(a, &feats, var);
        } else if (myna_xml_is(el, DF_NS, "x")) {
            struct dataform f;
            if (df_parse(el, &f, PS_FORM_FIELDS, PS_FORM_VALUES) < 0)
                return false;
            if (!f.form_type || !f.form_type_hidden)
                continue; /* §5.4 3.6: ignored, processing continues */
            for (size_t i = 0; i < nforms; i++)
                if (strcmp(forms[i].f.form_type, f.form_type) == 0)
                    return false;
            forms = myna_arena_realloc(a, forms, nforms * sizeof *forms,
                                       (nforms + 1) * sizeof *forms);
            forms[nforms++].f = f;
        }
    }
    if (!strs_sorted_unique(&ids) || !strs_sorted_unique(&feats))
        return false;
    for (size_t i = 0; i < ids.n; i++) {
        myna_buf_appends(b, ids.v[i]);
        myna_buf_appends(b, "<");
    }
    for (size_t i = 0; i < feats.n; i++) {
        myna_buf_appends(b, feats.v[i]);
        myna_buf_appends(b, "<");
    }
    if (nforms > 1)
        qsort(forms, nforms, sizeof *forms, cmp_form);
    for (size_t i = 0; i < nforms; i++)
        append_form(a, b, &forms[i].f);
    return true;
}

const char *caps_ver_string(struct myna_arena *a, const struct myna_xml *query,
                            const char *hash)
{
    const EVP_MD *md = hash_md(hash);
    if (!md)
        return NULL;
    struct myna_buf b;
    myna_buf_init(&b);
    const char *out = NULL;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (build_s(a, query, &b) && EVP_Digest(b.data ? b.data : "", b.len, digest, &dlen, md,
                                            NULL) == 1) {
        char *enc = myna_arena_alloc(a, 4 * ((dlen + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)enc, digest, (int)dlen);
        out = enc;
    }
    myna_buf_free(&b);
    return out;
}

/* The features of an answer, sorted, in a new entry (refs 1). */
static struct caps_entry *entry_from(const struct myna_xml *q)
{
    struct caps_entry *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    size_t n = 0;
    for (const struct myna_xml *f = myna_xml_find(q, NS_DISCO_INFO, "feature"); f;
         f = myna_xml_find_next(f, NS_DISCO_INFO, "feature"))
        n++;
    e->features = calloc(n ? n : 1, sizeof(char *));
    if (!e->features)
        abort();
    for (const struct myna_xml *f = myna_xml_find(q, NS_DISCO_INFO, "feature"); f;
         f = myna_xml_find_next(f, NS_DISCO_INFO, "feature")) {
        const char *var = myna_xml_attr(f, "var");
        if (var && !(e->features[e->nfeatures] = strdup(var)))
            abort();
        e->nfeatures += var != NULL;
    }
    qsort(e->features, e->nfeatures, sizeof(char *), cmp_str);
    e->refs = 1;
    return e;
}

struct caps_entry *caps_from_disco(const struct myna_xml *query, const char *hash,
                                   const char *ver, const char *key, bool *verified)
{
    *verified = false;
    if (!query || !myna_xml_is(query, NS_DISCO_INFO, "query"))
        return NULL;
    struct myna_arena *a = myna_arena_new();
    struct myna_buf probe;
    myna_buf_init(&probe);
    bool well_formed = build_s(a, query, &probe);
    myna_buf_free(&probe);
    struct caps_entry *e = NULL;
    if (well_formed) {
        e = entry_from(query);
        const char *mine = hash && ver && key ? caps_ver_string(a, query, hash) : NULL;
        if (mine && strcmp(mine, ver) == 0) {
            struct caps_entry *known = caps_lookup(key);
            if (known) {
                caps_unref(e); /* answered twice meanwhile: keep the cached one */
                e = known;
            } else {
                cache_insert(e, key);
            }
            *verified = true;
        }
    }
    myna_arena_free(a);
    return e;
}
