/// The set of item indices of one record that have been acknowledged. A set, not a count, so a
/// redelivered duplicate can never complete a record early.
struct ItemSet: Hashable, Sendable {
    private var words: [UInt64]
    private var small: UInt64
    let itemCount: UInt32
    private(set) var count: UInt32 = 0

    init(itemCount: UInt32) {
        self.itemCount = itemCount
        self.small = 0
        self.words = itemCount > 64 ? [UInt64](repeating: 0, count: Int((itemCount + 63) / 64)) : []
    }

    var isFull: Bool { count == itemCount }

    /// Inserts `item`; false when it was already present.
    mutating func insert(_ item: UInt32) -> Bool {
        let bit = UInt64(1) << UInt64(item % 64)
        if itemCount <= 64 {
            guard small & bit == 0 else { return false }
            small |= bit
        } else {
            let word = Int(item / 64)
            guard words[word] & bit == 0 else { return false }
            words[word] |= bit
        }
        count += 1
        return true
    }

    func contains(_ item: UInt32) -> Bool {
        let bit = UInt64(1) << UInt64(item % 64)
        return itemCount <= 64 ? small & bit != 0 : words[Int(item / 64)] & bit != 0
    }
}
