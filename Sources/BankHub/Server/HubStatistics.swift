import Synchronization

/// Counters read by `GET /healthz` on the libwebsockets thread: atomics, so reading never blocks.
final class HubStatistics: Sendable {
    let connections = Atomic<Int>(0)
    let requests = Atomic<Int>(0)

    func healthBody(version: String) -> [UInt8] {
        let open = connections.load(ordering: .relaxed)
        let handled = requests.load(ordering: .relaxed)
        return Array(#"{"status":"ok","version":"\#(version)","connections":\#(open),"requests":\#(handled)}"#.utf8)
    }
}
