import CKernels

/// Keys and values of every layer for `slots` sequences of up to `context` positions, laid out
/// [layer][slot][position][kv width]: f32 or f16 elements, or q8_0 / q4_0 blocks of 32 along the
/// width (each head's `headDim` elements its own blocks), quantized as they are written.
final class KVCache {
    let layers: Int, slots: Int, context: Int, width: Int
    let type: KVType
    /// Bytes of one position's row of one layer.
    let rowBytes: Int
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer

    init(layers: Int, slots: Int, context: Int, width: Int, type: KVType) {
        self.layers = layers
        self.slots = slots
        self.context = context
        self.width = width
        self.type = type
        rowBytes = type.rowBytes(width)
        let bytes = max(1, layers * slots * context * rowBytes)
        keys = .allocate(byteCount: bytes, alignment: 64)
        values = .allocate(byteCount: bytes, alignment: 64)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes of both tables, as allocated.
    var byteCount: Int { 2 * layers * slots * context * rowBytes }

    /// Bytes from a row's start to head `head`'s part of it.
    func headOffset(_ head: Int, headDim: Int) -> Int { type.rowBytes(head * headDim) }

    private func offset(_ layer: Int, _ slot: Int, _ position: Int) -> Int {
        ((layer * slots + slot) * context + position) * rowBytes
    }

    func key(_ layer: Int, _ slot: Int, _ position: Int) -> UnsafeMutableRawPointer { keys + offset(layer, slot, position) }
    func value(_ layer: Int, _ slot: Int, _ position: Int) -> UnsafeMutableRawPointer { values + offset(layer, slot, position) }

    func store(_ x: UnsafePointer<Float>, into p: UnsafeMutableRawPointer, level: KernelLevel) {
        switch type {
        case .f32: p.copyMemory(from: x, byteCount: width * 4)
        case .f16: ck_f32_to_f16(level.code, x, p.assumingMemoryBound(to: UInt16.self), Int32(width))
        case .q8_0: ck_kv_quantize(level.code, Int32(CK_Q8_0), x, p, Int32(width))
        case .q4_0: ck_kv_quantize(level.code, Int32(CK_Q4_0), x, p, Int32(width))
        }
    }
}
