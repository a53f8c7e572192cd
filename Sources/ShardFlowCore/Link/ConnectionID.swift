/// Identifies one connection inside a process. The I/O layer assigns it; state machines key
/// their per-connection state by it.
public typealias ConnectionID = UInt64
