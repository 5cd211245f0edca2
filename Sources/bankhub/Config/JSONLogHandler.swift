import BankCore
import BankWire
import Foundation
import Logging
import Synchronization

/// `--log-format json`: one JSON object per line on standard error, `{"ts", "level", "msg", "label", "source",
/// ...fields}`, each metadata value a string (nested metadata as JSON). Built with the hub's own JSON writer,
/// so every string is escaped the same way as on the wire. Lines from several threads never interleave.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    let label: String

    /// One lock for the process's standard error, so concurrent lines stay whole.
    private static let output = Mutex(())

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let line = Self.line(event: event, label: label, handlerMetadata: metadata,
                             at: Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1_000)))
        Self.output.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// The line for one event, with its newline. Keys of the record itself win over metadata of the same name.
    static func line(event: LogEvent, label: String, handlerMetadata: Logger.Metadata, at time: Timestamp) -> String {
        var object: JSONObject = [
            "ts": .string(time.rfc3339), "level": .string(event.level.rawValue), "msg": .string("\(event.message)"),
            "label": .string(label), "source": .string(event.source),
        ]
        let merged = handlerMetadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() where object[key] == nil {
            object.append(key: key, value: jsonValue(merged[key]!))
        }
        return JSONWriter.string(.object(object)) + "\n"
    }

    private static func jsonValue(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let items): .array(items.map(jsonValue))
        case .dictionary(let entries):
            .object(JSONObject(entries.keys.sorted().map { ($0, jsonValue(entries[$0]!)) }))
        }
    }
}
