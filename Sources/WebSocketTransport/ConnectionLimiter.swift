import Glibc

/// Open WebSocket connections, in total and per peer address, against their limits. Pure bookkeeping: the
/// service thread alone owns it (inside ``ServiceThreadState``).
///
/// An upgrade is admitted only while both counts are below their limits; a refused one gets HTTP 503 before
/// the WebSocket exists, so it costs no per-connection state.
struct ConnectionLimiter {
    enum Verdict: Equatable, Sendable {
        case admit
        case refuseTotal
        case refusePerAddress
    }

    let connectionsMax: Int
    let connectionsPerAddressMax: Int
    private(set) var total = 0
    private var perAddress: [String: Int] = [:]

    init(connectionsMax: Int, connectionsPerAddressMax: Int) {
        precondition(connectionsMax >= 1, "connectionsMax must be at least 1")
        precondition(connectionsPerAddressMax >= 1, "connectionsPerAddressMax must be at least 1")
        self.connectionsMax = connectionsMax
        self.connectionsPerAddressMax = connectionsPerAddressMax
    }

    /// Whether one more connection from `address` fits.
    func verdict(for address: String) -> Verdict {
        if total >= connectionsMax { return .refuseTotal }
        if perAddress[address, default: 0] >= connectionsPerAddressMax { return .refusePerAddress }
        return .admit
    }

    /// Counts a connection that opened (after `verdict` admitted it).
    mutating func opened(_ address: String) {
        total += 1
        perAddress[address, default: 0] += 1
        assert(total <= connectionsMax && perAddress[address]! <= connectionsPerAddressMax)
    }

    /// Forgets a connection that closed; addresses with no connection left are dropped, so memory follows
    /// the open connections.
    mutating func closed(_ address: String) {
        guard let count = perAddress[address] else {
            assertionFailure("closed a connection never opened from \(address)")
            return
        }
        total -= 1
        perAddress[address] = count > 1 ? count - 1 : nil
        assert(total >= 0)
    }

    func connections(from address: String) -> Int { perAddress[address, default: 0] }

    /// The default total: the process's open-file limit (RLIMIT_NOFILE, soft) less a headroom of 5 % (at least
    /// 64 files) for the database, its readers, logs, plugins and plain HTTP requests in progress. 20,000
    /// files give 19,000 connections; 1,024 give 960.
    static func defaultConnectionsMax() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 960 }
        let files = limit.rlim_cur == rlim_t.max ? 1_048_576 : Int(clamping: limit.rlim_cur)
        return max(1, files - max(64, files / 20))
    }
}
