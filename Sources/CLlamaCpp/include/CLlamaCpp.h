#ifndef SLMBENCH_CLLAMACPP_H
#define SLMBENCH_CLLAMACPP_H
/* slmbench's view of libllama, loaded at run time with dlopen: nothing in the build links it.
 *
 * The structs below restate, field by field, the parts of llama.h that slmbench passes by
 * value, for the pinned llama.cpp (ggml 0.25.3, commit 0c1e570, from llama-cpp-python 0.3.36).
 * Enums are int-sized and callbacks are plain pointers. scripts/check/check-llamacpp-abi.sh (run
 * by scripts/test.sh) compiles them against the real header and fails if a size or offset differs; slm_llama_open refuses a
 * library whose ggml version or commit is not the pinned one. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLM_LLAMA_GGML_VERSION "0.25.3"
#define SLM_LLAMA_COMMIT "0c1e570"

struct slm_llama_model_params {
    void *devices;
    const void *tensor_buft_overrides;
    int32_t n_gpu_layers;
    int32_t split_mode;
    int32_t load_mode;
    int32_t lazy_mode;
    int32_t main_gpu;
    const float *tensor_split;
    void *progress_callback;
    void *progress_callback_user_data;
    const void *kv_overrides;
    bool vocab_only, check_tensors, use_extra_bufts, no_host, no_alloc, load_mtp;
};

struct slm_llama_context_params {
    uint32_t n_ctx, n_batch, n_ubatch, n_seq_max, n_rs_seq, n_outputs_max, n_outputs_max_per_seq;
    int32_t n_threads, n_threads_batch;
    int32_t ctx_type, rope_scaling_type, pooling_type, attention_type, flash_attn_type;
    float rope_freq_base, rope_freq_scale, yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
    uint32_t yarn_orig_ctx;
    float defrag_thold;
    void *cb_eval;
    void *cb_eval_user_data;
    int32_t type_k, type_v;
    void *abort_callback;
    void *abort_callback_data;
    bool embeddings, offload_kqv, no_perf, op_offload, swa_full, kv_unified;
    void *samplers;
    size_t n_samplers;
    void *ctx_other;
};

struct slm_llama_batch {
    int32_t n_tokens;
    int32_t *token;
    float *embd;
    int32_t *pos;
    int32_t *n_seq_id;
    int32_t **seq_id;
    int8_t *logits;
};

/* Loads libllama from `lib_dir` (libggml-base first, for the version check). Returns 0, or -1
 * with a message in err. Safe to call again; the library stays loaded. */
int slm_llama_open(const char *lib_dir, char *err, size_t err_len);
const char *slm_llama_ggml_version(void);
const char *slm_llama_ggml_commit(void);
const char *slm_llama_system_info(void);

typedef struct slm_llama_run slm_llama_run;
/* Loads a model and makes a context. kv_type: the cache's ggml type for K and V (0 f32, 1 f16,
 * 2 q4_0, 8 q8_0); flash_attn: 1 on (which llama.cpp needs for a quantized V cache), 0 off.
 * NULL with a message on failure. */
slm_llama_run *slm_llama_start(const char *model_path, uint32_t n_ctx, uint32_t n_batch, uint32_t n_seq,
                               int32_t n_threads, int32_t kv_type, int32_t flash_attn, char *err, size_t err_len);
int32_t slm_llama_n_vocab(const slm_llama_run *run);
/* The special token llama.cpp settled on (which: 0 BOS, 1 EOS, 2 padding); -1 for none. */
int32_t slm_llama_special_token(const slm_llama_run *run, int32_t which);
uint64_t slm_llama_model_bytes(const slm_llama_run *run);
uint32_t slm_llama_n_ctx(const slm_llama_run *run);
/* Decodes n tokens (one sequence id each, in position order per sequence); output[i] != 0 asks
 * for token i's logits. Splits into batches of n_batch. Returns llama_decode's status. */
int32_t slm_llama_decode(slm_llama_run *run, const int32_t *tokens, const int32_t *pos, const int32_t *seq,
                         const int8_t *output, int32_t n);
/* Logits of the i-th token that asked for output in the last decode call (in batch order). */
float *slm_llama_logits(slm_llama_run *run, int32_t i);
void slm_llama_clear(slm_llama_run *run, int32_t seq);
void slm_llama_stop(slm_llama_run *run);

#ifdef __cplusplus
}
#endif
#endif
