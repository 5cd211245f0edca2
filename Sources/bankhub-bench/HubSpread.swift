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

    /// The fan-out's subscribers' hubs: every hub but the payers' (the first), so each event crosses the bus;
    /// the first when it is alone.
    static func subscriberHubs(_ hubs: Int) -> Range<Int> {
        precondition(hubs > 0, "a hub")
        return hubs == 1 ? 0..<1 : 1..<hubs
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
