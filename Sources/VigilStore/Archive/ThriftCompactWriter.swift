/// Thrift's compact protocol, writing only, and only what Parquet's page headers and file
/// footer use: structs, unions, lists, booleans, 32- and 64-bit integers and strings.
///
/// Fields must be written in increasing id order within a struct (as Parquet's definitions
/// number them), so each header carries the id as a small delta from the previous one.
struct ThriftCompactWriter {
    /// The compact protocol's type codes.
    enum FieldType: UInt8 {
        case booleanTrue = 1, booleanFalse = 2, i32 = 5, i64 = 6, binary = 8, list = 9, structure = 12
    }

    private(set) var bytes: [UInt8] = []
    /// The last field id written in each open struct, innermost last.
    private var lastFieldIDs: [Int16] = [0]

    mutating func i32(_ id: Int16, _ value: Int32) {
        fieldHeader(id, .i32)
        varint(Self.zigzag(Int64(value)))
    }

    mutating func i64(_ id: Int16, _ value: Int64) {
        fieldHeader(id, .i64)
        varint(Self.zigzag(value))
    }

    mutating func bool(_ id: Int16, _ value: Bool) {
        fieldHeader(id, value ? .booleanTrue : .booleanFalse)
    }

    mutating func string(_ id: Int16, _ value: String) {
        fieldHeader(id, .binary)
        binary(Array(value.utf8))
    }

    /// A struct (or union, whose one field is the chosen variant) as field `id`.
    mutating func structure(_ id: Int16, _ body: (inout ThriftCompactWriter) -> Void) {
        fieldHeader(id, .structure)
        structBody(body)
    }

    /// A list of structs as field `id`.
    mutating func structList<Element>(_ id: Int16, _ elements: [Element], _ body: (inout ThriftCompactWriter, Element) -> Void) {
        fieldHeader(id, .list)
        listHeader(count: elements.count, of: .structure)
        for element in elements { structBody { body(&$0, element) } }
    }

    /// A list of 32-bit integers (Parquet's enums) as field `id`.
    mutating func i32List(_ id: Int16, _ values: [Int32]) {
        fieldHeader(id, .list)
        listHeader(count: values.count, of: .i32)
        for value in values { varint(Self.zigzag(Int64(value))) }
    }

    /// A list of strings as field `id`.
    mutating func stringList(_ id: Int16, _ values: [String]) {
        fieldHeader(id, .list)
        listHeader(count: values.count, of: .binary)
        for value in values { binary(Array(value.utf8)) }
    }

    /// The top-level struct's end.
    mutating func stop() { bytes.append(0) }

    private mutating func structBody(_ body: (inout ThriftCompactWriter) -> Void) {
        lastFieldIDs.append(0)
        body(&self)
        bytes.append(0)
        lastFieldIDs.removeLast()
    }

    private mutating func fieldHeader(_ id: Int16, _ type: FieldType) {
        let delta = Int(id) - Int(lastFieldIDs[lastFieldIDs.count - 1])
        if (1...15).contains(delta) {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            varint(Self.zigzag(Int64(id)))
        }
        lastFieldIDs[lastFieldIDs.count - 1] = id
    }

    private mutating func listHeader(count: Int, of type: FieldType) {
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
    }

    private mutating func binary(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes += value
    }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }
}
