/// A GGUF metadata value. Arrays are typed so that a 49,152-entry token list is one Swift
/// array of strings, not 49,152 boxed values.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFArray)

    /// GGUF value type ids (gguf.h `gguf_type`).
    enum TypeID: UInt32, CaseIterable {
        case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
        case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

        /// The type a `GGUFValue` or `GGUFArray` case holds: both name their cases after these
        /// (an array of arrays, `GGUFArray.nested`, holds `array`s).
        static func named(caseOf value: Any) -> TypeID {
            let name = Mirror(reflecting: value).children.first?.label
            return allCases.first { "\($0)" == name } ?? .array
        }

        /// Bytes of one value on disk; nil for strings and arrays (variable length).
        var fixedSize: Int? {
            switch self {
            case .uint8, .int8, .bool: return 1
            case .uint16, .int16: return 2
            case .uint32, .int32, .float32: return 4
            case .uint64, .int64, .float64: return 8
            case .string, .array: return nil
            }
        }
    }

    var typeID: TypeID { TypeID.named(caseOf: self) }

    /// Any integer type as Int (nil for non-integers or values that do not fit).
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// Either float type, or an integer, as Double.
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? { if case let .string(s) = self { s } else { nil } }
    public var bool: Bool? { if case let .bool(b) = self { b } else { nil } }
    public var array: GGUFArray? { if case let .array(a) = self { a } else { nil } }

    /// A short rendering for `models inspect` (arrays summarised by type and length).
    public var summary: String {
        switch self {
        case let .string(s): return s.count > 80 ? "\"\(s.prefix(77))…\"" : "\"\(s)\""
        case let .array(a): return "[\(a.elementTypeName) × \(a.count)]"
        case let .bool(b): return String(b)
        case let .float32(v): return String(v)
        case let .float64(v): return String(v)
        default: return int.map(String.init) ?? "?"
        }
    }
}

/// A typed GGUF array.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
    case uint64([UInt64]), int64([Int64]), float32([Float]), float64([Double]), bool([Bool]), string([String])
    /// Arrays of arrays are legal GGUF; slmbench keeps them as values.
    case nested([GGUFValue])

    public var count: Int {
        switch self {
        case let .uint8(a): return a.count
        case let .int8(a): return a.count
        case let .uint16(a): return a.count
        case let .int16(a): return a.count
        case let .uint32(a): return a.count
        case let .int32(a): return a.count
        case let .uint64(a): return a.count
        case let .int64(a): return a.count
        case let .float32(a): return a.count
        case let .float64(a): return a.count
        case let .bool(a): return a.count
        case let .string(a): return a.count
        case let .nested(a): return a.count
        }
    }

    var elementType: GGUFValue.TypeID { GGUFValue.TypeID.named(caseOf: self) }

    public var elementTypeName: String { "\(elementType)" }

    public var strings: [String]? { if case let .string(a) = self { a } else { nil } }
    public var float32s: [Float]? { if case let .float32(a) = self { a } else { nil } }
    /// Integer arrays of any width as [Int].
    public var ints: [Int]? {
        switch self {
        case let .int32(a): return a.map(Int.init)
        case let .uint32(a): return a.map(Int.init)
        case let .int8(a): return a.map(Int.init)
        case let .uint8(a): return a.map(Int.init)
        case let .int16(a): return a.map(Int.init)
        case let .uint16(a): return a.map(Int.init)
        case let .int64(a): return a.map(Int.init)
        default: return nil
        }
    }
}
