// Unsafe hot path: elements live in manually managed memory (initialized between `head` and
// `head + count`, modulo the capacity); every access goes through `slot(_:)`, bounds-checked.

/// A first-in, first-out queue of values that *moves* them: appending consumes the value and
/// taking from the front moves it out, so a value holding references (a `ByteBuffer`, a
/// string) is never copied on the way through — no reference counting per element. Like the
/// standard collections it is a value type with copy-on-write storage.
///
/// The queues on ShardFlow's hot paths (the records a worker keeps, a reducer's items, the
/// checkpoint tracker's positions) hold millions of elements a second; a queue whose `append`
/// borrows its argument copies each one and destroys the original, which costs two reference
/// count operations per element and field.
public struct RingBuffer<Element> {
    @usableFromInline
    final class Storage {
        @usableFromInline var elements: UnsafeMutablePointer<Element>
        @usableFromInline var capacity: Int
        @usableFromInline var head = 0
        @usableFromInline var count = 0

        @usableFromInline
        init(capacity: Int) {
            self.capacity = capacity
            self.elements = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        }

        deinit {
            removeFirst(count)
            elements.deallocate()
        }

        /// The memory of the element `offset` places from the front.
        @inlinable @inline(__always)
        func slot(_ offset: Int) -> UnsafeMutablePointer<Element> {
            let index = head + offset
            return elements + (index >= capacity ? index - capacity : index)
        }

        /// A copy with room for at least `minimumCapacity` elements.
        @usableFromInline
        func copy(minimumCapacity: Int) -> Storage {
            let copy = Storage(capacity: Swift.max(minimumCapacity, capacity))
            for offset in 0..<count { (copy.elements + offset).initialize(to: slot(offset).pointee) }
            copy.count = count
            return copy
        }

        /// Moves the elements into storage of `newCapacity`.
        @usableFromInline
        func grow(to newCapacity: Int) {
            let moved = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
            let firstRun = Swift.min(count, capacity - head)
            (moved).moveInitialize(from: elements + head, count: firstRun)
            (moved + firstRun).moveInitialize(from: elements, count: count - firstRun)
            elements.deallocate()
            elements = moved
            capacity = newCapacity
            head = 0
        }

        @usableFromInline
        func removeFirst(_ n: Int) {
            var left = n
            while left > 0 {
                let run = Swift.min(left, capacity - head)
                (elements + head).deinitialize(count: run)
                head += run
                if head == capacity { head = 0 }
                left -= run
            }
            count -= n
            if count == 0 { head = 0 }
        }
    }

    @usableFromInline var storage: Storage

    public init() {
        storage = Storage(capacity: 0)
    }

    public init(minimumCapacity: Int) {
        storage = Storage(capacity: Swift.max(0, minimumCapacity))
    }

    public init(_ elements: some Sequence<Element>) {
        self.init()
        for element in elements { append(element) }
    }

    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.count == 0 }

    /// The element at the front, if any (a copy).
    @inlinable public var first: Element? { storage.count > 0 ? storage.slot(0).pointee : nil }

    /// The element `offset` places from the front.
    @inlinable
    public subscript(offset: Int) -> Element {
        get {
            precondition(offset >= 0 && offset < storage.count, "RingBuffer offset \(offset) outside 0..<\(storage.count)")
            return storage.slot(offset).pointee
        }
        _modify {
            precondition(offset >= 0 && offset < storage.count, "RingBuffer offset \(offset) outside 0..<\(storage.count)")
            makeUnique()
            yield &storage.slot(offset).pointee
        }
    }

    /// Appends `element`, moving it in.
    @inlinable
    public mutating func append(_ element: consuming Element) {
        makeUnique(minimumCapacity: storage.count + 1)
        storage.slot(storage.count).initialize(to: consume element)
        storage.count += 1
    }

    /// Appends one element, initialized in place by `initialize` (which must initialize the
    /// memory it is given): the hot paths' way to append without a copy.
    @inlinable
    public mutating func append(initializingWith initialize: (UnsafeMutablePointer<Element>) -> Void) {
        makeUnique(minimumCapacity: storage.count + 1)
        initialize(storage.slot(storage.count))
        storage.count += 1
    }

    /// Removes the front element and returns it (moved out), or nil when empty.
    @inlinable
    public mutating func popFirst() -> Element? {
        guard storage.count > 0 else { return nil }
        return removeFirst()
    }

    /// Removes and returns the front element (moved out), which must exist. Loops on hot paths
    /// use this rather than ``popFirst()``: binding an optional result copies it.
    @inlinable
    @discardableResult
    public mutating func removeFirst() -> Element {
        precondition(storage.count > 0, "removeFirst() on an empty RingBuffer")
        makeUnique()
        let element = storage.slot(0).move()
        storage.head = storage.head + 1 == storage.capacity ? 0 : storage.head + 1
        storage.count -= 1
        if storage.count == 0 { storage.head = 0 }
        return element
    }

    /// Removes the first `n` elements.
    @inlinable
    public mutating func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= storage.count, "cannot remove \(n) of \(storage.count) elements")
        guard n > 0 else { return }
        makeUnique()
        storage.removeFirst(n)
    }

    public mutating func removeAll(keepingCapacity: Bool = false) {
        if keepingCapacity, isKnownUniquelyReferenced(&storage) {
            storage.removeFirst(storage.count)
        } else {
            storage = Storage(capacity: 0)
        }
    }

    /// Removes the elements for which `shouldRemove` is true, keeping the others in order.
    public mutating func removeAll(where shouldRemove: (Element) throws -> Bool) rethrows {
        var kept = RingBuffer(minimumCapacity: storage.count)
        for element in self where try !shouldRemove(element) { kept.append(element) }
        self = kept
    }

    @inlinable
    mutating func makeUnique(minimumCapacity: Int = 0) {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy(minimumCapacity: Swift.max(minimumCapacity, storage.count))
        }
        if minimumCapacity > storage.capacity {
            storage.grow(to: Swift.max(minimumCapacity, storage.capacity * 2, 16))
        }
    }
}

extension RingBuffer: Sequence {
    public struct Iterator: IteratorProtocol {
        @usableFromInline let storage: Storage
        @usableFromInline var offset = 0

        @inlinable init(storage: Storage) { self.storage = storage }

        @inlinable
        public mutating func next() -> Element? {
            guard offset < storage.count else { return nil }
            defer { offset += 1 }
            return storage.slot(offset).pointee
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(storage: storage) }
    @inlinable public var underestimatedCount: Int { storage.count }
}

extension RingBuffer: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Element...) { self.init(elements) }
}

extension RingBuffer: Equatable where Element: Equatable {
    public static func == (lhs: RingBuffer, rhs: RingBuffer) -> Bool { lhs.elementsEqual(rhs) }
}

extension RingBuffer: Hashable where Element: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for element in self { hasher.combine(element) }
    }
}

extension RingBuffer: CustomStringConvertible {
    public var description: String { "[" + map { "\($0)" }.joined(separator: ", ") + "]" }
}

// The storage is only ever mutated through a uniquely referenced `RingBuffer` (copy on write),
// so sharing a value across threads is as safe as sharing an array.
extension RingBuffer: @unchecked Sendable where Element: Sendable {}
