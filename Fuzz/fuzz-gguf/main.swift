import FuzzDriver
import FuzzHarness

// libFuzzer's driver (scripts/fuzz.sh links libclang_rt.fuzzer_no_main) runs the harness on each input.
runFuzzer(FuzzHarness.gguf)
