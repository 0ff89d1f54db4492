/// IQ4_NL ("non-linear" 4-bit), as ggml defines it: blocks of 32 weights, each an f16 scale `d`
/// and 16 bytes of 4-bit indices into a fixed 16-entry codebook of int8 levels. Element j of a
/// block (j < 16) is `d × codebook[qs[j] & 0xF]`, element j + 16 is `d × codebook[qs[j] >> 4]`.
enum IQ4NL {
    static let block = 32
    static let blockBytes = 18

    /// The codebook (ggml's `kvalues_iq4nl`): non-uniform levels, denser near zero.
    static let codebook: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    static func dequantize(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * blockBytes
            let d = Quantization.half(bytes, base)
            for j in 0..<16 {
                let q = bytes[base + 2 + j]
                out[b * block + j] = d * Float(codebook[Int(q & 0xF)])
                out[b * block + j + 16] = d * Float(codebook[Int(q >> 4)])
            }
        }
    }
}
