import CKernels

/// Keys and values of every layer for `slots` sequences of up to `context` positions, laid out
/// [layer][slot][position][kv width], in f32 or f16.
final class KVCache {
    let layers: Int, slots: Int, context: Int, width: Int
    let type: KVType
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer

    init(layers: Int, slots: Int, context: Int, width: Int, type: KVType) {
        self.layers = layers
        self.slots = slots
        self.context = context
        self.width = width
        self.type = type
        let bytes = max(1, layers * slots * context * width * type.bytes)
        keys = .allocate(byteCount: bytes, alignment: 64)
        values = .allocate(byteCount: bytes, alignment: 64)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes of both tables, as allocated.
    var byteCount: Int { 2 * layers * slots * context * width * type.bytes }

    private func offset(_ layer: Int, _ slot: Int, _ position: Int) -> Int {
        ((layer * slots + slot) * context + position) * width * type.bytes
    }

    func key(_ layer: Int, _ slot: Int, _ position: Int) -> UnsafeMutableRawPointer { keys + offset(layer, slot, position) }
    func value(_ layer: Int, _ slot: Int, _ position: Int) -> UnsafeMutableRawPointer { values + offset(layer, slot, position) }

    func store(_ x: UnsafePointer<Float>, into p: UnsafeMutableRawPointer, level: KernelLevel) {
        switch type {
        case .f32: p.copyMemory(from: x, byteCount: width * 4)
        case .f16: ck_f32_to_f16(level.code, x, p.assumingMemoryBound(to: UInt16.self), Int32(width))
        }
    }
}
