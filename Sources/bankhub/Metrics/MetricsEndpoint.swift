import BankHub
import Metrics
import Prometheus
import Synchronization
import WebSocketTransport

/// `--metrics-port`: `GET /metrics` in the Prometheus text format on a listener of its own (its own host and
/// port, no static files, no WebSockets), so the page can stay on a private interface while the hub faces
/// clients. The hub records through swift-metrics; this bootstraps swift-metrics with the Prometheus backend
/// and serves the registry.
final class MetricsEndpoint: Sendable {
    /// Buckets for request and commit durations: from half a millisecond (most requests on loopback) to 5 s.
    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5),
    ]
    /// Buckets for jobs per commit: powers of two up to `DatabaseWriter.batchJobsMax` (8,192).
    static let batchSizeBuckets: [Double] = (0...13).map { Double(1 << $0) }
    /// Metrics connections at once; a scraper needs one or two.
    static let connectionsMax = 16

    private let registry: PrometheusCollectorRegistry
    private let server: WebSocketServer

    /// Bootstraps swift-metrics (once per process, before the hub creates its metrics) and prepares the
    /// listener; `start()` binds it.
    init(host: String, port: Int, hub: @escaping @Sendable () -> HubServer?, log: @escaping @Sendable (String) -> Void) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["bankhub_request_duration_seconds": Self.durationBuckets,
                                            "bankhub_commit_duration_seconds": Self.durationBuckets]
        factory.valueHistogramBuckets = ["bankhub_commit_batch_size": Self.batchSizeBuckets]
        MetricsSystem.bootstrap(factory)
        var configuration = WebSocketServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.webRoot = nil
        configuration.connectionsMax = Self.connectionsMax
        configuration.connectionsPerAddressMax = Self.connectionsMax
        configuration.log = log
        configuration.responseHeaders = [("X-Content-Type-Options", "nosniff")]
        server = WebSocketServer(configuration: configuration, health: { Array(#"{"status":"ok"}"#.utf8) })
        self.registry = registry
        server.addRoute(HTTPRoute.responding(to: "/metrics") { [registry] request in
            guard request.path == "/metrics" else {
                return HTTPResponse(status: 404, contentType: "text/plain; charset=utf-8", body: Array("no such path\n".utf8))
            }
            guard request.method == .get else {
                return HTTPResponse(status: 405, contentType: "text/plain; charset=utf-8", headers: [("Allow", "GET")],
                                    body: Array("GET only\n".utf8))
            }
            await hub()?.refreshMetrics()
            var body: [UInt8] = []
            registry.emit(into: &body)
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                headers: [("Cache-Control", "no-store")], body: body)
        })
    }

    /// Binds and returns the port (the chosen one for port 0). WebSocket upgrades (the transport accepts them
    /// on /ws) are closed at once: this listener serves metrics only.
    func start() throws -> Int {
        try server.start()
        let server = self.server
        Task {
            for await event in server.events {
                switch event {
                case .opened(let id, _): server.close(id, code: 1008, reason: "metrics only")
                case .message(let id, _), .binaryMessage(let id, _): server.consumed(id)
                case .closed: break
                }
            }
        }
        return server.port
    }

    func shutdown() { server.shutdown() }
}

/// The hub the metrics route refreshes from: set once `HubServer.open` returned (the endpoint is created
/// before, so that swift-metrics is bootstrapped before the hub records anything).
final class HubReference: Sendable {
    private let stored = Mutex<HubServer?>(nil)

    var server: HubServer? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
