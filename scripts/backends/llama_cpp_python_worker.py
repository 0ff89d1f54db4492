#!/usr/bin/env python3
"""An slmbench external backend: llama-cpp-python's high-level `Llama` API, in Python.

It speaks slmbench's worker protocol (docs/worker-protocol.md): one request line on stdin,
progress lines, then one result or error line on stdout. Run it as
    slmbench run --backend cmd:scripts/backends/llama_cpp_python_worker.py --model smollm2-135m ...
Install its engine first: scripts/backends/install-plugins.sh (or scripts/bootstrap.sh --with-plugins).

It follows the measurement protocol slmbench's own workers follow, so its numbers sit in the
same tables: load once; warm-up, then measured repetitions on a cleared cache; deterministic
pseudo-random prompt ids (SplitMix64 from the seed); greedy tokens; a monotonic clock.
It runs one sequence at a time (batch 1), which is what the high-level API offers."""
import json
import os
import sys
import time

PROTOCOL = 1
def _pinned_version():
    """The llama-cpp-python pin from scripts/pins.env (the one place it is written)."""
    pins = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pins.env")
    with open(pins) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key == "LLAMA_CPP_PYTHON_VERSION":
                return value
    raise SystemExit(f"{pins}: no LLAMA_CPP_PYTHON_VERSION")


VERSION = _pinned_version()


def say(message):
    message["protocol"] = PROTOCOL
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def fail(code, text):
    say({"type": "error", "code": code, "message": text})
    sys.exit(0)


def seeded_tokens(seed, count, vocabulary):
    """The prompt ids slmbench's own workers draw (SplitMix64), so every backend sees the same prompt."""
    mask = (1 << 64) - 1
    state, out = seed & mask, []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out.append(z % vocabulary)
    return out


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main():
    line = sys.stdin.readline()
    try:
        request = json.loads(line)
    except ValueError:
        fail("bad-request", "the request line is not JSON")
    if request.get("protocol") != PROTOCOL:
        fail("protocol-version", f"this worker speaks protocol {PROTOCOL}, the request is {request.get('protocol')}")
    run = request.get("run") or {}
    for field in ("model", "threads", "batch", "prompt_tokens", "gen_tokens", "kv_type", "warmup", "repetitions", "seed"):
        if field not in run:
            fail("bad-request", f"run lacks field '{field}'")
    if run["batch"] != 1:
        fail("unsupported-batch", "the llama-cpp-python example decodes one sequence at a time (batch 1)")
    if run["kv_type"] not in ("f32", "f16"):
        fail("bad-option", f"kv type '{run['kv_type']}' is not f32 or f16")

    cache = os.environ.get("SLMBENCH_CACHE") or os.path.expanduser("~/.cache/slmbench")
    site = os.path.join(cache, "plugins", f"llama-cpp-python-{VERSION}", "site")
    sys.path.insert(0, site)
    try:
        import numpy as np
        import llama_cpp
    except Exception as error:  # missing install, or a library that does not load
        fail("backend-missing", f"llama-cpp-python is not installed in {site} ({error}); run scripts/backends/install-plugins.sh")

    prompt, gen = run["prompt_tokens"], run["gen_tokens"]
    say({"type": "progress", "stage": "load"})
    start = time.monotonic_ns()
    try:
        llm = llama_cpp.Llama(model_path=run["model"], n_ctx=prompt + max(gen, 1) + 1, n_batch=max(1, min(512, prompt)),
                              n_ubatch=max(1, min(512, prompt)), n_threads=run["threads"], n_threads_batch=run["threads"],
                              type_k=0 if run["kv_type"] == "f32" else 1, type_v=0 if run["kv_type"] == "f32" else 1,
                              flash_attn=False, verbose=False)
    except Exception as error:
        fail("load-failed", f"{run['model']}: {error}")
    load_seconds = (time.monotonic_ns() - start) / 1e9
    rss_after_load = resident_bytes()
    vocabulary = llm.n_vocab()
    prompt_ids = seeded_tokens(run["seed"], prompt, vocabulary)

    def next_token():
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(vocabulary,))
        return int(np.argmax(logits))

    repetitions, first_tokens = [], []
    total = run["warmup"] + run["repetitions"]
    for index in range(total):
        warm = index < run["warmup"]
        say({"type": "progress", "stage": "warmup" if warm else "measure", "fraction": index / total})
        llm.reset()
        t0 = time.monotonic_ns()
        prefill, ttft, steps, output, generated = [], [], [], [], 0
        last = 1  # BOS when there is no prompt
        if prompt > 0:
            p0 = time.monotonic_ns()
            llm.eval(prompt_ids)
            prefill.append((time.monotonic_ns() - p0) / 1e9)
            if gen > 0:
                last = next_token()
                ttft.append((time.monotonic_ns() - t0) / 1e9)
                output.append(last)
                generated = 1
        previous = time.monotonic_ns()
        while generated < gen:
            llm.eval([last])
            last = next_token()
            now = time.monotonic_ns()
            steps.append((now - previous) / 1e9)
            previous = now
            if generated == 0:
                ttft.append((now - t0) / 1e9)
            output.append(last)
            generated += 1
        e2e = (time.monotonic_ns() - t0) / 1e9
        if not warm:
            repetitions.append({"prefill_seconds": prefill, "ttft_seconds": ttft, "step_seconds": steps,
                                "e2e_seconds": e2e, "generated_tokens": generated})
            if not first_tokens:
                first_tokens = output
    say({"type": "result",
         "metrics": {"prompt_tokens": prompt, "batch": 1, "load_seconds": load_seconds, "repetitions": repetitions,
                     "memory": {"weights_bytes": int(llm._model.size())}, "rss_after_load_bytes": rss_after_load,
                     "first_tokens": first_tokens},
         "backend": {"name": "llama-cpp-python", "version": llama_cpp.__version__,
                     "build": {"api": "Llama (high level)", "library": os.path.realpath(os.path.join(site, "llama_cpp", "lib"))}}})


if __name__ == "__main__":
    main()
