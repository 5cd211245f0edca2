/// How a scenario spreads its connections over several hubs of one bank (`--url` repeated). Pure arithmetic, so
/// every scenario (and every load-generating process of one run) agrees on which connection goes where.
enum HubSpread {
    /// Round robin: connection `index` (counted over the whole run) goes to hub `index % hubs`.
    static func hub(of index: Int, hubs: Int) -> Int {
        precondition(index >= 0 && hubs > 0, "a connection and a hub")
        return index % hubs
    }

    /// How many of `count` round-robin connections each of `hubs` hubs gets: the first `count % hubs` one more.
    static func counts(_ count: Int, hubs: Int) -> [Int] {
        precondition(count >= 0 && hubs > 0, "connections and a hub")
        return (0..<hubs).map { count / hubs + ($0 < count % hubs ? 1 : 0) }
    }

    /// `count` connections cut into `parts` contiguous ranges of the run's indexes, as even as can be (one per
    /// load-generating process; the first `count % parts` one longer).
    static func ranges(_ count: Int, parts: Int) -> [Range<Int>] {
        precondition(count >= 0 && parts > 0, "connections and a part")
        var start = 0
        return counts(count, hubs: parts).map { length in
            defer { start += length }
            return start..<(start + length)
        }
    }
}

/// The `fanout` scenario over several hubs: the payer connections round robin over every hub, and each payee's
/// subscriber on the hub after its payer's, so every event measured crosses the bus while the commits are shared
/// by all the hubs. With one hub, everything is on it.
extension HubSpread {
    /// Payer connections per hub when `--payers` is not given (4 × hubs: with one hub the 4 of before).
    static let payersPerHub = 4

    /// The payer connections a fan-out over `hubs` hubs opens by default.
    static func defaultPayers(hubs: Int) -> Int {
        precondition(hubs > 0, "a hub")
        return payersPerHub * hubs
    }

    /// Payer connection `payer`'s hub: round robin over all the hubs.
    static func payerHub(_ payer: Int, hubs: Int) -> Int {
        hub(of: payer, hubs: hubs)
    }

    /// The hub of payee `payee`'s subscriber: the one after the hub of the payer that pays it
    /// (``FanoutLoad/payer(ofPayee:payers:)``), so its events cross the bus; hub 0 when it is alone.
    static func subscriberHub(ofPayee payee: Int, payers: Int, hubs: Int) -> Int {
        precondition(hubs > 0, "a hub")
        guard hubs > 1 else { return 0 }
        return (payerHub(FanoutLoad.payer(ofPayee: payee, payers: payers), hubs: hubs) + 1) % hubs
    }

    /// How many of `count` items land on each of `hubs` hubs when item `i` goes to `hub(i)`.
    static func tally(_ count: Int, hubs: Int, hub: (Int) -> Int) -> [Int] {
        precondition(count >= 0 && hubs > 0, "items and a hub")
        var sums = Array(repeating: 0, count: hubs)
        for index in 0..<count { sums[hub(index)] += 1 }
        return sums
    }
}
