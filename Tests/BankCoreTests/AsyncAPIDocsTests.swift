import BankCore
import Foundation
import Testing

/// docs/asyncapi.yaml describes protocol v1 for code generators; these tests fail when it and the `Op` table
/// disagree, so an op cannot be added, renamed or removed without the AsyncAPI document following.
///
/// The YAML is read with simple line parsing (no YAML library in the package): a block's keys are the lines
/// indented exactly one level (two spaces) deeper than the block's own key.
@Suite struct AsyncAPIDocsTests {
    /// The operation that receives pushed events; every other operation is a request of one op.
    static let eventsOperation = "receiveEvents"

    static func document() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/asyncapi.yaml"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The lines of the block under `path` (each element a key one level deeper than the previous), up to the
    /// next line at the block key's own indentation or shallower.
    static func block(_ path: [String], in lines: [String]) throws -> [String] {
        var range = lines[...]
        for (depth, key) in path.enumerated() {
            let prefix = String(repeating: " ", count: depth * 2) + key + ":"
            let start = try #require(range.firstIndex { $0 == prefix || $0.hasPrefix(prefix + " ") },
                                     "docs/asyncapi.yaml lacks \(path[...depth].joined(separator: "/"))")
            let rest = range[(start + 1)...]
            let end = rest.firstIndex { line in
                let trimmed = line.drop { $0 == " " }
                return !trimmed.isEmpty && !trimmed.hasPrefix("#") && line.count - trimmed.count <= depth * 2
            } ?? rest.endIndex
            range = rest[..<end]
        }
        return Array(range)
    }

    /// The keys of the block under `path`: lines indented exactly one level deeper than its last key.
    static func keys(_ path: [String], in lines: [String]) throws -> [String] {
        let indent = String(repeating: " ", count: path.count * 2)
        return try block(path, in: lines).compactMap { line in
            guard line.hasPrefix(indent), let first = line.dropFirst(indent.count).first, first != " ", first != "#",
                  first != "-", let colon = line.firstIndex(of: ":") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: indent.count)..<colon])
        }
    }

    /// The value of `key: value` lines directly under an operation.
    static func value(_ key: String, of operation: String, in lines: [String]) throws -> String? {
        let prefix = "    \(key): "
        return try block(["operations", operation], in: lines).first { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }
    }

    /// Every op has a `send` operation named as on the wire, and no send operation names an op that does not
    /// exist: the only other operation is the events' `receive`.
    @Test func everyOpHasASendOperationAndNoOther() throws {
        let lines = try Self.document()
        let operations = try Self.keys(["operations"], in: lines)
        #expect(Set(operations).count == operations.count, "an operation is named twice")
        let ops = Set(Op.allCases.map(\.rawValue))
        let missing = Op.allCases.map(\.rawValue).filter { !operations.contains($0) }
        #expect(missing.isEmpty, "docs/asyncapi.yaml lacks the operations \(missing)")
        let strangers = operations.filter { $0 != Self.eventsOperation && !ops.contains($0) }
        #expect(strangers.isEmpty, "docs/asyncapi.yaml has operations that are no op: \(strangers)")
        for name in operations where name != Self.eventsOperation {
            #expect(try Self.value("action", of: name, in: lines) == "send", "\(name) should be a send operation")
        }
        #expect(operations.contains(Self.eventsOperation), "docs/asyncapi.yaml lacks \(Self.eventsOperation)")
        #expect(try Self.value("action", of: Self.eventsOperation, in: lines) == "receive")
    }

    /// Each op's request message exists under components/messages, and its payload's `op` is the op's name.
    @Test func everyOpHasItsRequestMessage() throws {
        let lines = try Self.document()
        let messages = Set(try Self.keys(["components", "messages"], in: lines))
        for op in Op.allCases {
            let name = "request_\(op.rawValue)"
            let declared = messages.contains(name)
            #expect(declared, "docs/asyncapi.yaml lacks components/messages/\(name)")
            guard declared else { continue }
            let body = try Self.block(["components", "messages", name], in: lines)
            let namesItsOp = body.contains("            const: \(op.rawValue)")
            #expect(namesItsOp, "\(name)'s payload should have op: const \(op.rawValue)")
            let operation = try Self.block(["operations", op.rawValue], in: lines)
            let sendsIt = operation.contains("    - $ref: '#/channels/hub/messages/\(name)'")
            #expect(sendsIt, "the operation \(op.rawValue) should send \(name)")
        }
        let replies = ["reply_ok", "reply_error"].filter { !messages.contains($0) }
        #expect(replies.isEmpty, "docs/asyncapi.yaml lacks components/messages/\(replies)")
    }

    /// The error object's code enum lists exactly the stable error codes.
    @Test func errorCodesAreTheStableOnes() throws {
        let lines = try Self.document()
        let body = try Self.block(["components", "schemas", "ErrorCode"], in: lines)
        let listed = body.filter { $0.hasPrefix("      - ") }.map { String($0.dropFirst("      - ".count)) }
        #expect(listed == ErrorCode.allCases.map(\.rawValue))
    }
}
