#!/usr/bin/env python3
"""A purpose-built fake worker for slmbench's fault tests: it reads the request line and then
misbehaves in the way its first argument names."""
import json
import os
import signal
import sys
import time

mode = sys.argv[1]
request = json.loads(sys.stdin.readline())
P = 1  # protocol version


def say(obj):
    print(json.dumps(obj), flush=True)


if mode == "ok":
    say({"protocol": P, "type": "progress", "stage": "load", "fraction": 0.5})
    say({"protocol": P, "type": "progress", "stage": "decode"})
    say({"protocol": P, "type": "result", "metrics": {"tg_ts": 123.5, "request_id": request["id"],
         "threads": request["run"]["threads"]}, "backend": {"name": "fake", "version": "1"}})
elif mode == "slow-progress":
    # Progress, then two seconds of work: the parent must hear of it while the worker runs.
    say({"protocol": P, "type": "progress", "stage": "measure", "fraction": 0.25})
    time.sleep(2)
    say({"protocol": P, "type": "result", "metrics": {"tg_ts": 1.0}, "backend": {"name": "fake", "version": "1"}})
elif mode == "late-peak":
    # Past the launcher's first second of fast polling, 300 MiB touched just before the result,
    # then a short teardown: the peak must still be the worker's.
    time.sleep(1.3)
    hog = b"\x01" * (300 << 20)
    say({"protocol": P, "type": "result", "metrics": {"tg_ts": 1.0}, "backend": {"name": "fake", "version": "1"}})
    time.sleep(0.1)
elif mode == "error":
    say({"protocol": P, "type": "error", "code": "unsupported-type", "message": "cannot run lab4g32a"})
elif mode == "segv":
    say({"protocol": P, "type": "progress", "stage": "load"})
    for i in range(50):
        print(f"stderr line {i}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGSEGV)
elif mode == "abort-noisy":
    # Like llama.cpp's GGML_ASSERT: the message, then a crash handler that prints to stdout (gdb
    # attaching) and dumps registers to stderr, then SIGABRT.
    say({"protocol": P, "type": "progress", "stage": "load"})
    print("llama-context.cpp:2273: GGML_ASSERT(n_outputs_max <= cparams.n_outputs_max) failed", file=sys.stderr, flush=True)
    print("[Thread debugging using libthread_db enabled]", flush=True)
    for i in range(40):
        print(f"  r{i} 0x{i:016x}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGABRT)
elif mode == "garbage-exit":
    print("half a line of", flush=True)
    sys.exit(2)
elif mode == "hang":
    say({"protocol": P, "type": "progress", "stage": "load"})
    time.sleep(3600)
elif mode == "hang-child":
    # A child that keeps the output pipes open after the worker itself is killed.
    if os.fork() == 0:
        time.sleep(3600)
    time.sleep(3600)
elif mode == "oom":
    hog = []
    while True:
        hog.append(bytearray(16 << 20))
        time.sleep(0.01)
elif mode == "garbage":
    print("this is not json", flush=True)
elif mode == "missing-fields":
    say({"protocol": P, "type": "result", "backend": {"name": "fake"}})
elif mode == "wrong-protocol":
    say({"protocol": 99, "type": "result", "metrics": {}, "backend": {}})
elif mode == "silent-exit":
    sys.exit(3)
elif mode == "no-result":
    say({"protocol": P, "type": "progress", "stage": "load"})
elif mode == "two-results":
    say({"protocol": P, "type": "result", "metrics": {}, "backend": {}})
    say({"protocol": P, "type": "result", "metrics": {}, "backend": {}})
else:
    sys.exit(f"unknown mode {mode}")
