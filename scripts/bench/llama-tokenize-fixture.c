/* Writes llama.cpp's token ids for a set of texts, for slmbench's tokenizer fixture.
 * Written for this project against the pinned llama.h (vocab-only load, llama_tokenize).
 *
 * Build: gcc llama-tokenize-fixture.c -I$PREFIX/include -L$PREFIX/lib -lllama -Wl,-rpath,$PREFIX/lib
 * Run:   ./a.out MODEL.gguf TEXTS.txt > tokens.tsv
 * TEXTS.txt holds one text per line with \n, \t, \r and \\ escaped; the output has one line
 * per text: the escaped text, a tab, then the ids (add_special = false, parse_special = false). */
#include <llama.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unescape(const char *in, char *out) {
    size_t n = 0;
    for (const char *p = in; *p && *p != '\n'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
    return n;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MODEL.gguf TEXTS.txt\n", argv[0]); return 64; }
    llama_backend_init();
    struct llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    struct llama_model *model = llama_model_load_from_file(argv[1], params);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    FILE *texts = fopen(argv[2], "r");
    if (!texts) { perror(argv[2]); return 1; }
    static char line[1 << 16], text[1 << 16];
    static llama_token ids[1 << 16];
    while (fgets(line, sizeof line, texts)) {
        size_t len = unescape(line, text);
        int n = llama_tokenize(vocab, text, (int)len, ids, 1 << 16, false, false);
        if (n < 0) { fprintf(stderr, "tokenize failed\n"); return 1; }
        line[strcspn(line, "\n")] = 0;
        printf("%s\t", line);
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    llama_model_free(model);
    return 0;
}
