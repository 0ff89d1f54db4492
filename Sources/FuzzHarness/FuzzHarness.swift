import Foundation
import ModelFormat
import Workloads

/// What the fuzzers (scripts/fuzz.sh) feed untrusted bytes to, and what the regression tests replay
/// their findings through. Each entry point must return — an error is a fine answer; a crash, a
/// hang or an unbounded allocation is a bug.
public enum FuzzHarness {
    /// Bytes as a GGUF file, then what `slmbench models inspect` and a backend's loader read: the
    /// summary, the tokenizer, and the first row of the first tensors, dequantized.
    public static func gguf(_ bytes: [UInt8]) {
        guard let file = try? GGUFFile(bytes: bytes, name: "fuzz.gguf") else { return }
        _ = ModelSummary(file: file)
        _ = try? Tokenizer(file: file)
        for tensor in file.tensors.prefix(8) {
            let n = tensor.rowLength
            guard n > 0, n <= 1 << 20, Quantization.canDequantize(tensor.type), let rowBytes = tensor.type.rowBytes(n),
                  rowBytes <= tensor.byteCount else { continue }
            let data = file.data(for: tensor)
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { buffer in
                _ = try? Quantization.dequantize(UnsafeRawBufferPointer(rebasing: data[0..<rowBytes]), type: tensor.type, into: buffer)
            }
        }
    }

    /// Bytes as a sweep spec (YAML).
    public static func sweepSpec(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        _ = try? SweepSpec.parse(text, file: "fuzz.yaml")
    }

    /// The entry point by name, for the replay tool and the tests.
    public static func named(_ name: String) -> (([UInt8]) -> Void)? {
        switch name {
        case "gguf": return gguf
        case "sweep-spec": return sweepSpec
        default: return nil
        }
    }
}
