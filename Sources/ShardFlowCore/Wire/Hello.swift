import NIOCore

/// The handshake: the first frame each side sends on every connection.
public struct Hello: Hashable, Sendable {
    /// `"SFLW"` in ASCII.
    public static let magic: UInt32 = 0x5346_4C57
    /// The protocol version this build speaks. A peer with another version is refused.
    public static let currentVersion: UInt16 = 2
    /// Longest accepted `name`, in UTF-8 bytes.
    public static let maximumNameLength = 1024
    /// Largest `length` a connection's first frame may announce. The first frame must be a
    /// HELLO (at most 2077 bytes), so nothing a peer sends before its handshake makes the
    /// receiver hold more than this.
    public static let maximumFrameLength: UInt32 = 4096

    public var version: UInt16
    public var role: PeerRole
    /// Index within the role: the router's, mapper's or reducer's `--index`; 0 for a worker.
    public var index: UInt32
    /// A random number chosen once per process start; it tells a restarted peer from its
    /// previous incarnation.
    public var instance: UInt64
    /// Human-readable identity: a worker's shard id, `router-0`, `reducer-3`.
    public var name: String
    /// A worker's stream (the name its items carry to the processor); empty for other roles.
    public var stream: String

    public init(
        version: UInt16 = Hello.currentVersion, role: PeerRole, index: UInt32, instance: UInt64, name: String, stream: String = ""
    ) {
        self.version = version
        self.role = role
        self.index = index
        self.instance = instance
        self.name = name
        self.stream = stream
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
        // Another version's HELLO decodes as far as its version, so the handshake can refuse it
        // with a version mismatch rather than a malformed frame.
        guard version == Hello.currentVersion else {
            return Hello(version: version, role: role, index: index, instance: instance, name: name)
        }
        let streamLength = Int(try reader.integer("stream length", as: UInt16.self))
        guard streamLength <= Hello.maximumNameLength else {
            throw WireError(.badHandshake("stream name of \(streamLength) bytes exceeds \(Hello.maximumNameLength)"))
        }
        let streamBytes = try reader.slice("stream", length: streamLength)
        guard let stream = streamBytes.validatedUTF8String(at: streamBytes.readerIndex, length: streamLength) else {
            throw WireError(.badHandshake("stream name is not valid UTF-8"))
        }
        try reader.expectEnd()
        return Hello(version: version, role: role, index: index, instance: instance, name: name, stream: stream)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Hello.magic)
        buffer.writeInteger(version)
        buffer.writeInteger(role.rawValue)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(index)
        buffer.writeInteger(instance)
        buffer.writeString16(name)
        if version == Hello.currentVersion { buffer.writeString16(stream) }
    }
}
