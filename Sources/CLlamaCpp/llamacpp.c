/* Run-time binding to libllama (see CLlamaCpp.h). */
#define _GNU_SOURCE
#include "CLlamaCpp.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slm_llama_model_params (*model_default_params_fn)(void);
typedef struct slm_llama_context_params (*context_default_params_fn)(void);
typedef void *(*model_load_fn)(const char *, struct slm_llama_model_params);
typedef void *(*init_from_model_fn)(void *, struct slm_llama_context_params);
typedef struct slm_llama_batch (*batch_init_fn)(int32_t, int32_t, int32_t);
typedef void (*batch_free_fn)(struct slm_llama_batch);
typedef int32_t (*decode_fn)(void *, struct slm_llama_batch);

static struct {
    int ready;
    void *ggml, *llama;
    const char *(*ggml_version)(void);
    const char *(*ggml_commit)(void);
    const char *(*system_info)(void);
    void (*backend_init)(void);
    void (*log_set)(void *, void *);
    model_default_params_fn model_default_params;
    context_default_params_fn context_default_params;
    model_load_fn model_load;
    init_from_model_fn init_from_model;
    void (*model_free)(void *);
    void (*context_free)(void *);
    const void *(*model_get_vocab)(const void *);
    int32_t (*vocab_n_tokens)(const void *);
    int32_t (*vocab_bos)(const void *), (*vocab_eos)(const void *), (*vocab_pad)(const void *);
    uint64_t (*model_size)(const void *);
    uint32_t (*n_ctx)(const void *);
    batch_init_fn batch_init;
    batch_free_fn batch_free;
    decode_fn decode;
    float *(*get_logits_ith)(void *, int32_t);
    void *(*get_memory)(const void *);
    bool (*memory_seq_rm)(void *, int32_t, int32_t, int32_t);
} L;

struct slm_llama_run {
    void *model, *ctx;
    uint32_t n_batch;
    struct slm_llama_batch batch;
    int32_t *output_index; /* batch index of each output, for the last decode call */
    int32_t outputs;
};

/* llama.cpp logs every tensor at load; a worker keeps stderr for real trouble. */
static void quiet_log(int level, const char *text, void *user) {
    (void)user;
    if (level == 4 /* GGML_LOG_LEVEL_ERROR */) fputs(text, stderr);
}

#define NEED(lib, field, name)                                                        \
    do {                                                                              \
        *(void **)&L.field = dlsym(lib, name);                                        \
        if (!L.field) { snprintf(err, err_len, "%s lacks %s", #lib, name); return -1; } \
    } while (0)

int slm_llama_open(const char *lib_dir, char *err, size_t err_len) {
    if (L.ready) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/libggml-base.so", lib_dir);
    void *ggml = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!ggml) { snprintf(err, err_len, "cannot load %s: %s", path, dlerror()); return -1; }
    L.ggml = ggml;
    NEED(ggml, ggml_version, "ggml_version");
    NEED(ggml, ggml_commit, "ggml_commit");
    const char *version = L.ggml_version(), *commit = L.ggml_commit();
    if (strcmp(version, SLM_LLAMA_GGML_VERSION) != 0 || strncmp(commit, SLM_LLAMA_COMMIT, strlen(SLM_LLAMA_COMMIT)) != 0) {
        snprintf(err, err_len, "%s is ggml %s (commit %s); slmbench is written against ggml %s, commit %s "
                 "(llama-cpp-python 0.3.36): run scripts/tools/build-llamacpp.sh", path, version, commit,
                 SLM_LLAMA_GGML_VERSION, SLM_LLAMA_COMMIT);
        return -1;
    }
    snprintf(path, sizeof path, "%s/libllama.so", lib_dir);
    void *llama = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!llama) { snprintf(err, err_len, "cannot load %s: %s", path, dlerror()); return -1; }
    L.llama = llama;
    NEED(llama, system_info, "llama_print_system_info");
    NEED(llama, backend_init, "llama_backend_init");
    NEED(llama, log_set, "llama_log_set");
    NEED(llama, model_default_params, "llama_model_default_params");
    NEED(llama, context_default_params, "llama_context_default_params");
    NEED(llama, model_load, "llama_model_load_from_file");
    NEED(llama, init_from_model, "llama_init_from_model");
    NEED(llama, model_free, "llama_model_free");
    NEED(llama, context_free, "llama_free");
    NEED(llama, model_get_vocab, "llama_model_get_vocab");
    NEED(llama, vocab_n_tokens, "llama_vocab_n_tokens");
    NEED(llama, vocab_bos, "llama_vocab_bos");
    NEED(llama, vocab_eos, "llama_vocab_eos");
    NEED(llama, vocab_pad, "llama_vocab_pad");
    NEED(llama, model_size, "llama_model_size");
    NEED(llama, n_ctx, "llama_n_ctx");
    NEED(llama, batch_init, "llama_batch_init");
    NEED(llama, batch_free, "llama_batch_free");
    NEED(llama, decode, "llama_decode");
    NEED(llama, get_logits_ith, "llama_get_logits_ith");
    NEED(llama, get_memory, "llama_get_memory");
    NEED(llama, memory_seq_rm, "llama_memory_seq_rm");
    L.log_set((void *)quiet_log, NULL);
    L.backend_init();
    L.ready = 1;
    return 0;
}

const char *slm_llama_ggml_version(void) { return L.ready ? L.ggml_version() : ""; }
const char *slm_llama_ggml_commit(void) { return L.ready ? L.ggml_commit() : ""; }
const char *slm_llama_system_info(void) { return L.ready ? L.system_info() : ""; }

slm_llama_run *slm_llama_start(const char *model_path, uint32_t n_ctx, uint32_t n_batch, uint32_t n_seq,
                               int32_t n_threads, int32_t kv_type, int32_t flash_attn, char *err, size_t err_len) {
    if (!L.ready) { snprintf(err, err_len, "libllama is not loaded"); return NULL; }
    struct slm_llama_model_params mp = L.model_default_params();
    mp.n_gpu_layers = 0;
    void *model = L.model_load(model_path, mp);
    if (!model) { snprintf(err, err_len, "llama.cpp could not load %s", model_path); return NULL; }
    struct slm_llama_context_params cp = L.context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_ubatch = n_batch;
    cp.n_seq_max = n_seq;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    cp.type_k = kv_type; /* GGML_TYPE_F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8 */
    cp.type_v = kv_type;
    cp.no_perf = true;
    /* Flash attention is the caller's choice: off for an f32 or f16 cache (with it, llama.cpp
     * casts an F32 cache to F16 inside attention, so "kv f32" would not be f32), on for a
     * quantized one, whose V llama.cpp reads only in its flash-attention path. */
    cp.flash_attn_type = flash_attn ? 1 : 0; /* LLAMA_FLASH_ATTN_TYPE_ENABLED : _DISABLED */
    void *ctx = L.init_from_model(model, cp);
    if (!ctx) {
        L.model_free(model);
        snprintf(err, err_len, "llama.cpp could not make a context (n_ctx %u, batch %u, sequences %u)", n_ctx, n_batch, n_seq);
        return NULL;
    }
    slm_llama_run *run = calloc(1, sizeof *run);
    run->model = model;
    run->ctx = ctx;
    run->n_batch = n_batch;
    run->batch = L.batch_init((int32_t)n_batch, 0, 1);
    run->output_index = calloc(n_batch, sizeof(int32_t));
    return run;
}

int32_t slm_llama_n_vocab(const slm_llama_run *run) { return L.vocab_n_tokens(L.model_get_vocab(run->model)); }
int32_t slm_llama_special_token(const slm_llama_run *run, int32_t which) {
    const void *vocab = L.model_get_vocab(run->model);
    switch (which) {
    case 0: return L.vocab_bos(vocab);
    case 1: return L.vocab_eos(vocab);
    default: return L.vocab_pad(vocab);
    }
}
uint64_t slm_llama_model_bytes(const slm_llama_run *run) { return L.model_size(run->model); }
uint32_t slm_llama_n_ctx(const slm_llama_run *run) { return L.n_ctx(run->ctx); }

int32_t slm_llama_decode(slm_llama_run *run, const int32_t *tokens, const int32_t *pos, const int32_t *seq,
                         const int8_t *output, int32_t n) {
    run->outputs = 0;
    for (int32_t start = 0; start < n; start += (int32_t)run->n_batch) {
        const int32_t count = n - start < (int32_t)run->n_batch ? n - start : (int32_t)run->n_batch;
        struct slm_llama_batch *b = &run->batch;
        b->n_tokens = count;
        int32_t outputs = 0;
        for (int32_t i = 0; i < count; i++) {
            b->token[i] = tokens[start + i];
            b->pos[i] = pos[start + i];
            b->n_seq_id[i] = 1;
            b->seq_id[i][0] = seq[start + i];
            b->logits[i] = output[start + i] ? 1 : 0;
            if (b->logits[i]) run->output_index[outputs++] = i;
        }
        const int32_t status = L.decode(run->ctx, *b);
        if (status != 0) return status;
        /* Logits live until the next decode: only the last chunk's outputs are kept. */
        run->outputs = outputs;
    }
    return 0;
}

float *slm_llama_logits(slm_llama_run *run, int32_t i) {
    if (i < 0 || i >= run->outputs) return NULL;
    return L.get_logits_ith(run->ctx, run->output_index[i]);
}

void slm_llama_clear(slm_llama_run *run, int32_t seq) { L.memory_seq_rm(L.get_memory(run->ctx), seq, -1, -1); }

void slm_llama_stop(slm_llama_run *run) {
    if (!run) return;
    L.batch_free(run->batch);
    L.context_free(run->ctx);
    L.model_free(run->model);
    free(run->output_index);
    free(run);
}
