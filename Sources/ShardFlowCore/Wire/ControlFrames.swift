import NIOCore

/// The handshake: the first frame each side sends on every connection.
public struct Hello: Hashable, Sendable {
    /// `"SFLW"` in ASCII.
    public static let magic: UInt32 = 0x5346_4C57
    /// The protocol version this build speaks. A peer with another version is refused.
    public static let currentVersion: UInt16 = 1
    /// Longest accepted `name`, in UTF-8 bytes.
    public static let maximumNameLength = 1024

    public var version: UInt16
    public var role: PeerRole
    /// Index within the role: the router's, mapper's or reducer's `--index`; 0 for a worker.
    public var index: UInt32
    /// A random number chosen once per process start; it tells a restarted peer from its
    /// previous incarnation.
    public var instance: UInt64
    /// Human-readable identity: a worker's shard id, `router-0`, `reducer-3`.
    public var name: String

    public init(version: UInt16 = Hello.currentVersion, role: PeerRole, index: UInt32, instance: UInt64, name: String) {
        self.version = version
        self.role = role
        self.index = index
        self.instance = instance
        self.name = name
    }
}

/// Flow-control credit: the receiver allows the sender that many more records (or items) and
/// bytes. Grants add up. A sender may start a new record while both counters are positive, so
/// it overshoots the byte credit by at most one record.
public struct Credit: Hashable, Sendable {
    public var count: UInt32
    public var bytes: UInt64

    public init(count: UInt32, bytes: UInt64) {
        self.count = count
        self.bytes = bytes
    }
}

/// A peer further down a path went away, so records that travelled through it may never be
/// acknowledged: the worker resends every record that is not yet complete.
public struct PeerLost: Hashable, Sendable {
    public var role: PeerRole
    public var index: UInt32
    public var reason: String

    public init(role: PeerRole, index: UInt32, reason: String) {
        self.role = role
        self.index = index
        self.reason = reason
    }
}

/// The sender is shutting down gracefully: it accepts no new data on this connection but still
/// delivers acknowledgements for what it already holds.
public struct Drain: Hashable, Sendable {
    public var reason: String

    public init(reason: String) { self.reason = reason }
}

/// A fatal error; the sender closes the connection right after it.
public struct ErrorFrame: Hashable, Sendable {
    public enum Code: UInt16, Sendable, CaseIterable {
        case versionMismatch = 1
        case roleRejected = 2
        case malformedFrame = 3
        case protocolViolation = 4
        case unauthorized = 5
        case shuttingDown = 6
        case internalError = 7
    }

    /// The error code; unknown codes from newer peers decode as ``Code/internalError``'s raw
    /// value kept in `rawCode`.
    public var rawCode: UInt16
    public var message: String

    public var code: Code? { Code(rawValue: rawCode) }

    public init(code: Code, message: String) {
        self.rawCode = code.rawValue
        self.message = message
    }

    public init(rawCode: UInt16, message: String) {
        self.rawCode = rawCode
        self.message = message
    }
}

extension Hello {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> Hello {
        let magic = try reader.integer("magic", as: UInt32.self)
        guard magic == Hello.magic else {
            throw WireError(.badHandshake("magic 0x\(String(magic, radix: 16)) is not \"SFLW\" (0x53464c57)"))
        }
        let version = try reader.integer("version", as: UInt16.self)
        let rawRole = try reader.integer("role", as: UInt8.self)
        guard let role = PeerRole(rawValue: rawRole) else {
            throw WireError(.badHandshake("unknown role \(rawRole)"))
        }
        _ = try reader.integer("flags", as: UInt8.self)
        let index = try reader.integer("index", as: UInt32.self)
        let instance = try reader.integer("instance", as: UInt64.self)
        let nameLength = Int(try reader.integer("name length", as: UInt16.self))
        guard nameLength <= Hello.maximumNameLength else {
            throw WireError(.badHandshake("name of \(nameLength) bytes exceeds \(Hello.maximumNameLength)"))
        }
        let nameBytes = try reader.slice("name", length: nameLength)
        guard let name = nameBytes.validatedUTF8String(at: nameBytes.readerIndex, length: nameLength) else {
            throw WireError(.badHandshake("name is not valid UTF-8"))
        }
        try reader.expectEnd()
        return Hello(version: version, role: role, index: index, instance: instance, name: name)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Hello.magic)
        buffer.writeInteger(version)
        buffer.writeInteger(role.rawValue)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(index)
        buffer.writeInteger(instance)
        buffer.writeString16(name)
    }
}

extension Credit {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> Credit {
        let count = try reader.integer("count", as: UInt32.self)
        let bytes = try reader.integer("bytes", as: UInt64.self)
        try reader.expectEnd()
        return Credit(count: count, bytes: bytes)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(count)
        buffer.writeInteger(bytes)
    }
}

extension PeerLost {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> PeerLost {
        let rawRole = try reader.integer("role", as: UInt8.self)
        guard let role = PeerRole(rawValue: rawRole) else {
            throw WireError(.invalidField(field: "role", reason: "unknown role \(rawRole)"))
        }
        let index = try reader.integer("index", as: UInt32.self)
        let reason = try reader.string16("reason")
        try reader.expectEnd()
        return PeerLost(role: role, index: index, reason: reason)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(role.rawValue)
        buffer.writeInteger(index)
        buffer.writeString16(reason)
    }
}

extension Drain {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> Drain {
        let reason = try reader.string16("reason")
        try reader.expectEnd()
        return Drain(reason: reason)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeString16(reason)
    }
}

extension ErrorFrame {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> ErrorFrame {
        let code = try reader.integer("code", as: UInt16.self)
        let message = try reader.string16("message")
        try reader.expectEnd()
        return ErrorFrame(rawCode: code, message: message)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(rawCode)
        buffer.writeString16(message)
    }
}
