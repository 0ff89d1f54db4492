import FuzzDriver

// libFuzzer's driver (scripts/check/fuzz.sh links libclang_rt.fuzzer_no_main) runs FuzzHarness's "gguf" on each input.
runFuzzer("gguf")
