import BankWire
import Foundation

/// What a scenario measured: printed as a table for people and, with `--json`, as one JSON object on the
/// last line for scripts (`scenario`, parameters, the headline rate, latency percentiles, errors by code and
/// the correctness verdict).
struct BenchReport {
    let scenario: String
    private(set) var fields = JSONObject()
    private var rows: [(String, String)] = []

    init(scenario: String) {
        self.scenario = scenario
        fields.append(key: "scenario", value: .string(scenario))
        rows.append(("scenario", scenario))
    }

    mutating func add(_ key: String, _ value: Int) {
        fields.append(key: key, value: .integer(value))
        rows.append((key, String(value)))
    }

    mutating func add(_ key: String, _ value: Double, decimals: Int = 3) {
        fields.append(key: key, value: Self.number(value, decimals: decimals))
        rows.append((key, String(format: "%.\(decimals)f", value)))
    }

    mutating func add(_ key: String, _ value: Bool) {
        fields.append(key: key, value: .bool(value))
        rows.append((key, String(value)))
    }

    mutating func add(_ key: String, _ value: String) {
        fields.append(key: key, value: .string(value))
        rows.append((key, value))
    }

    /// `p50_ms`, `p99_ms`, `p999_ms`, `max_ms` (and the sample count).
    mutating func addLatency(_ summary: LatencyRecorder.Summary, prefix: String = "") {
        add(prefix + "samples", Int(summary.count))
        add(prefix + "p50_ms", summary.p50Milliseconds)
        add(prefix + "p99_ms", summary.p99Milliseconds)
        add(prefix + "p999_ms", summary.p999Milliseconds)
        add(prefix + "max_ms", summary.maxMilliseconds)
    }

    mutating func addErrors(_ errors: [String: Int]) {
        var object = JSONObject()
        for (code, count) in errors.sorted(by: { $0.key < $1.key }) { object.append(key: code, value: .integer(count)) }
        fields.append(key: "errors", value: .object(object))
        rows.append(("errors", errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
    }

    /// Prints the table, then the JSON line when asked.
    func print(json: Bool) {
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            Console.line(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
        if json { Console.line(jsonLine) }
    }

    /// The JSON object `print(json: true)` ends with, on one line.
    var jsonLine: String { JSONWriter.string(.object(fields)) }

    static func number(_ value: Double, decimals: Int) -> JSONValue {
        guard value.isFinite else { return .null }
        let text = String(format: "%.\(decimals)f", value)
        return JSONValue.number(lexeme: text) ?? .null
    }
}

/// Progress lines on stderr, so stdout stays the table and the JSON line.
enum Progress {
    static func line(_ text: String) {
        FileHandle.standardError.write(Data(("[bench] " + text + "\n").utf8))
    }
}

/// A scenario failed to run (as opposed to measuring a wrong result, which is reported in the verdict).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
