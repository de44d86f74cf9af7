/* libFuzzer target: the TLS Secret path — a Secret as the informer parses it (kgc_api_parse_text,
 * pkg/api: base64 of data["tls.crt"]/data["tls.key"], then kgc_api_tls_pair_valid(): OpenSSL's
 * PEM certificate and private key readers and the key match), and that pair check on raw PEM.
 * The checked-in corpus holds real certificate/key pairs (EC P-256, RSA 2048, Ed25519, a chain,
 * a mismatched pair, an encrypted key) generated with openssl for this target.
 *
 * Input: byte 0 picks the mode.
 *   even: the rest is a Secret's JSON.
 *   odd:  the rest is "<tls.crt PEM>\0<tls.key PEM>" (no NUL: all certificate, empty key); the
 *         pair is checked directly, then wrapped in a kubernetes.io/tls Secret (base64) and parsed.
 *
 * Properties (abort on violation): no crash, no leak, no passphrase prompt; a Secret with
 * tls_valid has both PEMs and they pass the pair check again; a Secret without it says why in
 * tls_problem, which holds no key material; the direct check and the Secret path agree; and the
 * Secret's JSON as kgc emits it (debug dump) shows every data value as "<redacted>" and holds
 * neither the key's PEM, nor "PRIVATE KEY", nor the base64 text given in data["tls.key"], unless
 * the input has that text outside "data" too (in its name, say).
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_tls_secret
 *   build-fuzz/fuzz/fuzz_tls_secret test/fuzz/corpus/fuzz_tls_secret */
#include "kgc/api.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* Base64 of n bytes (malloc'd, NUL-terminated, no line breaks). */
static char *b64(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    check(out != NULL);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

/* The base64 text of data["tls.key"] in a Secret's JSON, or NULL. */
static const char *given_key_b64(json_object *j)
{
    json_object *d = NULL, *k = NULL;
    if (!json_object_object_get_ex(j, "data", &d) || !json_object_is_type(d, json_type_object) ||
        !json_object_object_get_ex(d, "tls.key", &k) || !json_object_is_type(k, json_type_string))
        return NULL;
    return json_object_get_string(k);
}

/* Parses the Secret and checks every property. Returns its tls_valid (false when not parsed). */
static bool check_secret(const char *text, size_t len)
{
    struct kgc_api_obj *o = NULL;
    if (kgc_api_parse_text(KGC_API_SECRET, text, len, &o, NULL) != 0)
        return false;
    const struct kgc_api_secret *s = kgc_api_as_secret(o);
    check(s != NULL);
    if (s->tls_valid) {
        check(s->tls_crt_pem && s->tls_key_pem);
        char problem[256];
        check(kgc_api_tls_pair_valid(s->tls_crt_pem, strlen(s->tls_crt_pem), s->tls_key_pem,
                                     strlen(s->tls_key_pem), problem, sizeof(problem)));
    } else if (s->has_tls_crt && s->has_tls_key) {
        check(s->tls_problem && s->tls_problem[0]);
    }
    if (s->tls_problem)
        check(!strstr(s->tls_problem, "PRIVATE KEY") &&
              !(s->tls_key_pem && s->tls_key_pem[0] && strstr(s->tls_problem, s->tls_key_pem)));

    /* The emitted JSON shows data values only as "<redacted>", and no text of tls.key (its PEM
     * or the base64 given) appears in it unless the input has that text outside "data" too. */
    json_object *out = kgc_api_to_json(o);
    check(out != NULL);
    const char *emitted = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
    json_object *d = NULL;
    if (json_object_object_get_ex(out, "data", &d) && json_object_is_type(d, json_type_object)) {
        json_object_object_foreach(d, k, v)
        {
            (void)k;
            check(json_object_is_type(v, json_type_string) &&
                  strcmp(json_object_get_string(v), "<redacted>") == 0);
        }
    }
    json_object *in = json_tokener_parse(text);
    const char *kb = in ? given_key_b64(in) : NULL;
    char *kb_copy = kb ? strdup(kb) : NULL;
    if (in)
        json_object_object_del(in, "data");
    const char *rest = in ? json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN) : "";
    json_object *pem = s->tls_key_pem ? json_object_new_string(s->tls_key_pem) : NULL;
    const char *pem_json = pem ? json_object_to_json_string_ext(pem, JSON_C_TO_STRING_PLAIN) : NULL;
    const char *needles[3] = {"PRIVATE KEY", kb_copy, NULL};
    char *pem_body = NULL;
    if (pem_json && strlen(pem_json) >= 18) { /* without its quotes */
        pem_body = strndup(pem_json + 1, strlen(pem_json) - 2);
        needles[2] = pem_body;
    }
    for (int i = 0; i < 3; i++)
        if (needles[i] && strlen(needles[i]) >= 11 && strstr(emitted, needles[i]))
            check(strstr(rest, needles[i]) != NULL);
    free(pem_body);
    json_object_put(pem);
    free(kb_copy);
    json_object_put(in);
    json_object_put(out);
    bool valid = s->tls_valid;
    kgc_api_obj_unref(o);
    return valid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if ((data[0] & 1) == 0) {
        char *text = malloc(len + 1);
        check(text != NULL);
        memcpy(text, body, len);
        text[len] = '\0';
        check_secret(text, len);
        free(text);
        return 0;
    }
    const char *nul = memchr(body, '\0', len);
    size_t crt_len = nul ? (size_t)(nul - body) : len;
    const char *key = nul ? nul + 1 : body + len;
    size_t key_len = nul ? len - crt_len - 1 : 0;
    char problem[256] = "";
    bool direct = kgc_api_tls_pair_valid(body, crt_len, key, key_len, problem, sizeof(problem));
    check(direct || problem[0]);
    check(!strstr(problem, "PRIVATE KEY"));

    char *crt64 = b64((const unsigned char *)body, crt_len);
    char *key64 = b64((const unsigned char *)key, key_len);
    size_t cap = strlen(crt64) + strlen(key64) + 256;
    char *secret = malloc(cap);
    check(secret != NULL);
    int n = snprintf(secret, cap,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"tls\","
                     "\"namespace\":\"ns\"},\"type\":\"kubernetes.io/tls\",\"data\":{"
                     "\"tls.crt\":\"%s\",\"tls.key\":\"%s\"}}",
                     crt64, key64);
    check(n > 0 && (size_t)n < cap);
    /* The decoded PEM is NUL-terminated: an embedded NUL ends it early, so only inputs without one
     * must agree. */
    if (!memchr(body, '\0', crt_len) && !memchr(key, '\0', key_len))
        check(check_secret(secret, (size_t)n) == direct);
    else
        check_secret(secret, (size_t)n);
    free(secret);
    free(key64);
    free(crt64);
    return 0;
}
