/// The streams one connection follows, for ``LocalEventFanout``'s per-connection index.
///
/// Almost every connection follows one stream (a screen follows its account or its user), and the fan-out holds
/// one of these per connection: a `Set<String>` of one element is a heap allocation of ~130 bytes each, 2.4 MiB at
/// 19,000 connections. One stream is therefore held inline (short stream names are small strings, also inline);
/// the set is allocated only from the second stream on.
struct ConnectionStreams: Sequence {
    private enum Storage {
        case one(String)
        case many(Set<String>)
    }

    private var storage: Storage?

    init() {}

    var isEmpty: Bool {
        switch storage {
        case nil: true
        case .one: false
        case .many(let set): set.isEmpty
        }
    }

    var count: Int {
        switch storage {
        case nil: 0
        case .one: 1
        case .many(let set): set.count
        }
    }

    func contains(_ stream: String) -> Bool {
        switch storage {
        case nil: false
        case .one(let only): only == stream
        case .many(let set): set.contains(stream)
        }
    }

    mutating func insert(_ stream: String) {
        switch storage {
        case nil:
            storage = .one(stream)
        case .one(let only) where only == stream:
            return
        case .one(let only):
            storage = .many([only, stream])
        case .many(var set):
            // Released first so the set is uniquely referenced and grows in place.
            storage = nil
            set.insert(stream)
            storage = .many(set)
        }
        assert(contains(stream))
    }

    mutating func remove(_ stream: String) {
        switch storage {
        case nil:
            return
        case .one(let only):
            if only == stream { storage = nil }
        case .many(var set):
            storage = nil
            set.remove(stream)
            // Back to inline when one is left: a connection that once followed two keeps no set.
            if set.count == 1, let only = set.first {
                storage = .one(only)
            } else if !set.isEmpty {
                storage = .many(set)
            }
        }
        assert(!contains(stream))
    }

    func makeIterator() -> Array<String>.Iterator {
        switch storage {
        case nil: [].makeIterator()
        case .one(let only): [only].makeIterator()
        case .many(let set): Array(set).makeIterator()
        }
    }
}
