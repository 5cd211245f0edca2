import Foundation
import Glibc
import WebSocketClient

/// `connections --processes P`: P copies of this executable ("parts"), each holding a contiguous slice of the
/// run's connections (a process here may hold at most 20,000 files), spread over the hubs as one process would
/// (``HubSpread``), each on its own source addresses.
///
/// The exchange with a part, one line each way: the part opens and subscribes its slice and prints `ready`;
/// this process, once every part is ready, writes `go` to each part's standard input and sends the deposit;
/// each part waits for the event on all its connections (at most ``ConnectionsScenario/deliverSecondsMax``)
/// and prints its JSON line (`caught_up`, `last_caught_up_ns` on CLOCK_MONOTONIC, which every process of the
/// machine shares, `out_of_order`, `closed_early`), then exits.
final class ConnectionParts {
    static let processesMax = 16
    /// The environment variable that hands a part the session token (not its arguments, which `ps` shows).
    static let tokenVariable = "BANKHUB_BENCH_PART_TOKEN"

    /// The token a part was handed (nil outside a part).
    static var partToken: String? { ProcessInfo.processInfo.environment[tokenVariable] }

    private struct Part {
        let process: Process
        let input: Pipe
        let range: Range<Int>
        var lines: AsyncStream<String>.Iterator
    }

    private var parts: [Part]

    private init(parts: [Part]) { self.parts = parts }

    /// Starts the parts: `count` connections in `processes` slices.
    static func start(count: Int, processes: Int, hubs: [HubAddress], token: String,
                      stream: String) throws -> ConnectionParts {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let urls = hubs.flatMap { ["--url", "ws://\($0.host):\($0.port)\($0.path)"] }
        var parts: [Part] = []
        var addressOffset = 0
        do {
            for range in HubSpread.ranges(count, parts: processes) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = ["connections", "--part", "--count", String(range.count),
                                     "--first-index", String(range.lowerBound), "--address-offset", String(addressOffset),
                                     "--stream", stream] + urls
                process.environment = ProcessInfo.processInfo.environment.merging([tokenVariable: token]) { $1 }
                let input = Pipe()
                let output = Pipe()
                process.standardInput = input
                process.standardOutput = output
                try process.run()
                let lines = LineReader.lines(of: output.fileHandleForReading.fileDescriptor,
                                             name: "bench-part-\(parts.count)")
                parts.append(Part(process: process, input: input, range: range, lines: lines.makeAsyncIterator()))
                // Source addresses of its own: ports are per source address, whichever process binds them.
                addressOffset += (range.count + Subscribers.perSourceAddress - 1) / Subscribers.perSourceAddress
            }
        } catch {
            ConnectionParts(parts: parts).stop()
            throw error
        }
        return ConnectionParts(parts: parts)
    }

    /// Returns once every part has printed `ready` (its connections open and subscribed).
    func waitUntilReady() async throws {
        for index in parts.indices {
            while true {
                guard let line = await nextLine(index) else {
                    throw BenchError("connections part \(index) (pid \(parts[index].process.processIdentifier)) ended "
                                     + "before it was ready")
                }
                if line == "ready" { break }
            }
        }
    }

    /// Tells every part the event is on its way (each then waits for it, bounded).
    func go() {
        for part in parts { try? part.input.fileHandleForWriting.write(contentsOf: Data("go\n".utf8)) }
    }

    /// Reads every part's JSON line and puts them together.
    func awaitDelivery() async throws -> Delivery {
        var caughtUp = 0, outOfOrder = 0, closedEarly = 0
        var last: UInt64 = 0
        for index in parts.indices {
            var lastLine = ""
            while let line = await nextLine(index) { lastLine = line }
            let process = parts[index].process
            process.waitUntilExit()
            guard let object = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any],
                  let partCaughtUp = (object["caught_up"] as? NSNumber)?.intValue,
                  let partLast = (object["last_caught_up_ns"] as? NSNumber)?.int64Value else {
                throw BenchError("connections part \(index) (pid \(process.processIdentifier)) ended with status "
                                 + "\(process.terminationStatus) and no JSON line")
            }
            caughtUp += partCaughtUp
            last = max(last, UInt64(max(0, partLast)))
            outOfOrder += (object["out_of_order"] as? NSNumber)?.intValue ?? 0
            closedEarly += (object["closed_early"] as? NSNumber)?.intValue ?? 0
        }
        return Delivery(caughtUp: caughtUp, lastCaughtUpAt: last, outOfOrder: outOfOrder, closedEarly: closedEarly)
    }

    /// Ends the parts still running (a run that failed half-way).
    func stop() {
        for part in parts where part.process.isRunning { part.process.terminate() }
    }

    private func nextLine(_ index: Int) async -> String? {
        var lines = parts[index].lines
        let line = await lines.next()
        parts[index].lines = lines
        return line
    }

    /// A part's run: opens `count` subscribed connections (run indexes from `firstIndex`), prints `ready`, waits
    /// for `go`, then for the event, and prints its JSON line.
    static func runPart(count: Int, hubs: [HubAddress], firstIndex: Int, addressOffset: Int, token: String,
                        stream: String) async throws {
        let loop = try WebSocketClientLoop(handshakeTimeout: .seconds(60))
        defer { loop.shutdown() }
        let opening = Nanoseconds.now()
        let local = try await LocalConnections.open(count, hubs: hubs, firstIndex: firstIndex,
                                                    addressOffset: addressOffset, token: token, stream: stream,
                                                    loop: loop)
        let openSeconds = Double(Nanoseconds.now() - opening) / 1e9
        Progress.line("part from \(firstIndex): \(count) connections open in \(String(format: "%.2f", openSeconds)) s")
        Console.line("ready")
        var input = LineReader.lines(of: STDIN_FILENO, name: "bench-part-input").makeAsyncIterator()
        // `go`, or the end of the input when the run ended without sending it: either way wait (bounded).
        _ = await input.next()
        let delivery = await local.awaitDelivery()
        var report = BenchReport(scenario: "connections-part")
        report.add("count", count)
        report.add("open_s", openSeconds, decimals: 2)
        report.add("caught_up", delivery.caughtUp)
        report.add("last_caught_up_ns", Int(delivery.lastCaughtUpAt))
        report.add("out_of_order", delivery.outOfOrder)
        report.add("closed_early", delivery.closedEarly)
        report.print(json: true)
    }
}

/// Lines read from a file descriptor on a thread of its own (a blocking read must not hold one of the
/// concurrency pool's few threads), without their newline; the stream ends at the end of the file.
enum LineReader {
    static func lines(of descriptor: Int32, name: String) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let thread = Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                pending.append(contentsOf: buffer[0..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
            }
            if !pending.isEmpty { continuation.yield(String(decoding: pending, as: UTF8.self)) }
            continuation.finish()
        }
        thread.name = name
        thread.start()
        return stream
    }
}
