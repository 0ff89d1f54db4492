import FuzzDriver

// libFuzzer's driver (scripts/check/fuzz.sh links libclang_rt.fuzzer_no_main) runs FuzzHarness's "engine-load" on each input.
runFuzzer("engine-load")
