/* libFuzzer target: the test Kong's POST /config text as its server reads it with the validation
 * memo (test/fakes/kong/vmemo.c kf_vmemo_parse, which shares the memo's parsed value for an entity
 * whose bytes it remembers) against the plain parse (text.c kf_text_parse), then both validated
 * (declarative.c kf_validate): with the memo, and without. No network.
 *
 * Input: byte 0 bits 0-1 the router flavour (0 traditional_compatible, 1 expressions,
 * 2 traditional, 3 traditional_compatible); the rest is the configuration text. Each input goes
 * through two rounds with one memo that lives across inputs (the second round finds every valid
 * entity's bytes remembered). Whatever the input: no crash, no leak, no undefined behaviour, and
 * the shortcut changes nothing —
 *   - when kf_vmemo_parse() builds a document, kf_text_parse() parses the text too and the two
 *     documents serialise to the same bytes;
 *   - the validation of that document with the memo answers what the validation of
 *     kf_text_parse()'s document without it answers: the same return code and the same 201 or
 *     400 body, byte for byte (unless the answer without the memo differs from itself: random
 *     ids), the 201 body copying the memo's values (first round) or sharing them (second).
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_kong_config_text
 *   build-fuzz/fuzz/fuzz_kong_config_text test/fuzz/corpus/fuzz_kong_config_text */
#include "../fakes/kong/kong_fake.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const int FLAGS = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    kgc_log_setup(KGC_LOG_OFF, KGC_LOG_TEXT, STDERR_FILENO);
    return 0;
}

/* The answer's text: the 201 body on 0, the 400 body on KGC_EINVAL, "" otherwise (caller frees). */
static char *answer(json_object *doc, struct kf_validate_opts *vo, int *rc)
{
    json_object *ent = NULL, *err = NULL;
    *rc = kf_validate(doc, vo, &ent, &err);
    json_object *shown = *rc == 0 ? ent : err;
    char *text = strdup(shown ? json_object_to_json_string_ext(shown, FLAGS) : "");
    json_object_put(ent);
    json_object_put(err);
    if (!text) {
        abort();
    }
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct kf_vmemo *memo;
    static const char *const FLAVORS[] = {"traditional_compatible", "expressions", "traditional",
                                          "traditional_compatible"};
    if (size < 1 || size > (1u << 20)) {
        return 0;
    }
    if (!memo && !(memo = kf_vmemo_new())) {
        abort();
    }
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct kf_validate_opts vo = {.router_flavor = FLAVORS[data[0] & 3], .flatten_errors = true};
    for (int round = 0; round < 2; round++) {
        json_object *fast = NULL;
        if (kf_vmemo_parse(memo, text, len, &fast) != 0) {
            if (fast) {
                abort(); /* nothing in *out when it leaves the text to kf_text_parse() */
            }
            return 0;
        }
        json_object *plain = NULL;
        char err[256];
        if (kf_text_parse(text, len, &plain, err, sizeof(err)) != 0 || !plain) {
            fprintf(stderr, "kf_vmemo_parse built a document kf_text_parse rejects: %s\n", err);
            abort();
        }
        char *want_doc = strdup(json_object_to_json_string_ext(plain, FLAGS));
        if (!want_doc || strcmp(want_doc, json_object_to_json_string_ext(fast, FLAGS)) != 0) {
            fprintf(stderr, "kf_vmemo_parse and kf_text_parse differ (round %d)\n", round);
            abort();
        }
        free(want_doc);
        int rc_plain = 0, rc_again = 0, rc_fast = 0;
        char *want = answer(plain, &vo, &rc_plain);
        char *again = answer(plain, &vo, &rc_again);
        struct kf_validate_opts mo = vo;
        mo.memo = memo;
        mo.share_memo_values = round == 1; /* the server's 201 body shares the memo's values */
        char *got = answer(fast, &mo, &rc_fast);
        bool stable = rc_plain == rc_again && strcmp(want, again) == 0;
        if (rc_fast != rc_plain || (stable && strcmp(want, got) != 0)) {
            fprintf(stderr, "the memo's parse changed the answer (round %d, rc %d vs %d)\n", round,
                    rc_fast, rc_plain);
            abort();
        }
        free(want);
        free(again);
        free(got);
        json_object_put(plain);
        json_object_put(fast);
    }
    return 0;
}
