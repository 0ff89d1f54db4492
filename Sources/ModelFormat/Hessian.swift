import Foundation

/// The second moment of one input group's activations over a calibration text: Σ xᵀx over every
/// token (row x), summed in Double. GPTQ's H = 2·XᵀX/n is this matrix scaled; the scale does not
/// change GPTQ's result, so only the sums and the token count are kept. Matrices that read the
/// same input (q/k/v, gate/up) share one.
public struct Hessian: Sendable {
    public let columns: Int
    /// Row-major columns × columns; `add` fills the upper triangle, `symmetric()` mirrors it.
    public private(set) var sums: [Double]
    public private(set) var tokens: Int

    public init(columns: Int) {
        self.columns = columns
        sums = [Double](repeating: 0, count: columns * columns)
        tokens = 0
    }

    /// A Hessian given whole (tests, or a file of precomputed statistics): `matrix` row-major,
    /// symmetric, columns × columns.
    public init(columns: Int, matrix: [Double], tokens: Int) {
        precondition(matrix.count == columns * columns, "a \(columns)-column Hessian has \(columns * columns) entries")
        self.columns = columns; sums = matrix; self.tokens = tokens
    }

    /// Adds `rows` activation rows of `columns` floats (row-major) to the upper triangle.
    /// Rows of the sum are split in tiles across the CPUs; each tile's result does not depend on
    /// the split.
    public mutating func add(_ x: UnsafePointer<Float>, rows: Int) {
        let n = columns, tile = 16
        let source = SendableConstPointer(x)
        sums.withUnsafeMutableBufferPointer { h in
            let target = SendableMutablePointer(h.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: (n + tile - 1) / tile) { t in
                let i0 = t * tile, i1 = min(n, i0 + tile)
                for r in 0..<rows {
                    let row = source.pointer + r * n
                    for i in i0..<i1 {
                        let xi = Double(row[i])
                        if xi == 0 { continue }
                        let hrow = target.pointer + i * n
                        for j in i..<n { hrow[j] += xi * Double(row[j]) }
                    }
                }
            }
        }
        tokens += rows
    }

    /// The full symmetric matrix (upper triangle mirrored into the lower).
    public func symmetric() -> [Double] {
        var m = sums
        for i in 0..<columns { for j in 0..<i { m[i * columns + j] = m[j * columns + i] } }
        return m
    }
}

/// The Hessians of one model over one calibration text, looked up by weight-matrix name.
public struct HessianSet: Sendable {
    public var hessians: [Hessian]
    /// Tensor name → index into `hessians` (several names share an input group's matrix).
    public var index: [String: Int]
    /// The calibration text's name (as recorded in the output file) and its size.
    public var dataset: String
    public var chunkCount: Int
    public var chunkSize: Int

    public init(hessians: [Hessian] = [], index: [String: Int] = [:], dataset: String, chunkCount: Int = 0, chunkSize: Int = 0) {
        self.hessians = hessians; self.index = index; self.dataset = dataset
        self.chunkCount = chunkCount; self.chunkSize = chunkSize
    }

    public func hessian(for tensor: String) -> Hessian? { index[tensor].map { hessians[$0] } }
}

struct SendableMutablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

struct SendableConstPointer<T>: @unchecked Sendable {
    let pointer: UnsafePointer<T>
    init(_ pointer: UnsafePointer<T>) { self.pointer = pointer }
}
