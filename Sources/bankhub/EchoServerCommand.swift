import ArgumentParser
import Dispatch
import Glibc
import WebSocketTransport

/// `bankhub echo-server`: the hub's WebSocket transport, with the hub's limits, echoing every message back
/// with its kind (text or binary). Hidden: it exists for the Autobahn conformance run (scripts/test-autobahn),
/// which must test the same transport code the hub runs.
struct EchoServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-server",
        abstract: "Echo WebSocket messages on the hub's transport (for the Autobahn conformance suite).",
        shouldDisplay: false)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one and prints it).") var port = 9001
    @Option(help: "Path of the WebSocket endpoint.") var path = "/"
    @Option(help: "Largest inbound message, in bytes (the hub's default).") var messageBytesMax = 65_536
    @Option(help: "Event loop: libev or poll.") var eventLoop = "libev"

    func run() async throws {
        var configuration = WebSocketServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.webRoot = nil
        configuration.webSocketPath = path
        configuration.messageBytesMax = messageBytesMax
        configuration.eventLoop = EventLoop(rawValue: eventLoop) ?? .libev
        configuration.shutdownGraceSeconds = 1
        let server = WebSocketServer(configuration: configuration, health: { Array(#"{"status":"ok"}"#.utf8) })
        try server.start()
        Console.line("echo-server listening on ws://\(host):\(server.port)\(path)")
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { server.shutdown() }
            source.resume()
            return source
        }
        // Each message is reported consumed once queued back; the stream ends when the server shuts down.
        for await event in server.events {
            switch event {
            case .message(let id, let bytes):
                server.send(bytes, to: id)
                server.consumed(id)
            case .binaryMessage(let id, let bytes):
                server.send(bytes, to: id, kind: .binary)
                server.consumed(id)
            case .opened, .closed:
                break
            }
        }
        withExtendedLifetime(signals) {}
    }
}
