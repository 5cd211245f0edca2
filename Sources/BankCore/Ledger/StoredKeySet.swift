/// The idempotency keys that live only in the database, held in memory as one sorted array of 64-bit
/// hashes of (user, key): 8 bytes a key instead of a full record.
///
/// A miss is certain: that (user, key) is not among the stored keys. A hit only says "maybe": another key
/// may share the hash, so the caller reads the stored transaction to know. Pure; no I/O.
public struct StoredKeySet: Sendable {
    /// Sorted ascending; equal hashes may repeat (two keys with one hash).
    private var hashes: [UInt64] = []

    public init() {}

    public var count: Int { hashes.count }

    /// The hash of a user's key. Swift's `Hasher` is seeded at random per process, so nobody can choose keys
    /// that collide with another user's on purpose; the set is rebuilt at every start, so the seed need not last.
    public static func hash(user: UserID, key: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(user.rawValue)
        hasher.combine(key)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    public func contains(_ hash: UInt64) -> Bool {
        var low = 0
        var high = hashes.count
        while low < high {
            let middle = low + (high - low) / 2
            if hashes[middle] < hash { low = middle + 1 } else { high = middle }
        }
        return low < hashes.count && hashes[low] == hash
    }

    /// Adds `new` hashes: one merge of two sorted arrays into an array of exactly the combined size.
    public mutating func insert(contentsOf new: [UInt64]) {
        guard !new.isEmpty else { return }
        let added = new.sorted()
        var merged: [UInt64] = []
        merged.reserveCapacity(hashes.count + added.count)
        var mine = 0
        var theirs = 0
        while mine < hashes.count, theirs < added.count {
            if hashes[mine] <= added[theirs] {
                merged.append(hashes[mine])
                mine += 1
            } else {
                merged.append(added[theirs])
                theirs += 1
            }
        }
        merged.append(contentsOf: hashes[mine...])
        merged.append(contentsOf: added[theirs...])
        assert(merged.count == hashes.count + new.count, "a merge keeps every hash")
        hashes = merged
    }
}
