import BankCore
import Foundation
import Testing

/// docs/protocol.md prints the `Op` table between two markers; these tests fail when the two disagree, so a new
/// op cannot be added without documenting who may call it.
@Suite struct OpTableDocsTests {
    static let begin = "<!-- op-table:begin -->"
    static let end = "<!-- op-table:end -->"

    /// The table as docs/protocol.md must print it, one row per op in declaration order.
    static func renderedTable() -> String {
        var lines = ["| op | who may call | admin step-up | rate class | moves money |", "|---|---|---|---|---|"]
        for op in Op.allCases {
            lines.append("| `\(op.rawValue)` | \(op.access.rawValue) | \(op.needsStepUp ? "yes" : "no") | "
                         + "\(op.rateClass.rawValue) | \(op.movesMoney ? "yes" : "no") |")
        }
        return lines.joined(separator: "\n")
    }

    static func documentedTable() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        let start = try #require(text.range(of: begin), "docs/protocol.md lacks \(begin)")
        let stop = try #require(text.range(of: end), "docs/protocol.md lacks \(end)")
        return text[start.upperBound..<stop.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every op appears in docs/protocol.md with the access, step-up, rate class and money flag the table gives.
    @Test func protocolDocPrintsTheOpTable() throws {
        let expected = Self.renderedTable()
        #expect(try Self.documentedTable() == expected, "docs/protocol.md's op table should read:\n\(expected)")
    }

    /// Ops are spelled as on the wire: lower-case words joined by underscores, each name once.
    @Test func opNamesAreWireNames() {
        let names = Op.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(name.allSatisfy { $0.isLowercase || $0 == "_" }, "\(name)")
            #expect(Op(rawValue: name)?.rawValue == name)
        }
    }
}
