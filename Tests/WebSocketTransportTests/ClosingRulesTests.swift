import Testing
@testable import WebSocketTransport

/// The pure rules behind closing: deadlines driven by a fake clock, the peer-close checks of RFC 6455 §7.4
/// and incremental UTF-8 validation.
struct ClosingRulesTests {
    private let start = ContinuousClock.now

    /// A close is due exactly `timeout` after it was asked for, is reported once, and a second close of the
    /// same connection does not push the deadline back.
    @Test func closeDeadlineFiresOnceAfterTheTimeout() {
        var deadlines = CloseDeadlines(timeout: .seconds(5))
        let started = deadlines.closeRequested(7, at: start)
        let extended = deadlines.closeRequested(7, at: start + .seconds(3))
        let early = deadlines.expired(at: start + .milliseconds(4_999))
        let due = deadlines.expired(at: start + .seconds(5))
        let again = deadlines.expired(at: start + .seconds(60))
        #expect(started)
        #expect(!extended, "a later close must not extend the deadline")
        #expect(early.isEmpty)
        #expect(due == [7])
        #expect(again.isEmpty)
        #expect(deadlines.count == 0)
    }

    /// A shorter wait moves a running deadline earlier; a closed connection's deadline is forgotten.
    @Test func closeDeadlineMovesEarlierAndIsForgottenOnClose() {
        var deadlines = CloseDeadlines(timeout: .seconds(5))
        deadlines.closeRequested(1, at: start)
        deadlines.closeRequested(2, at: start)
        let moved = deadlines.closeRequested(1, at: start + .seconds(1), within: .seconds(1))
        deadlines.remove(2)
        let due = deadlines.expired(at: start + .seconds(2))
        let later = deadlines.expired(at: start + .seconds(10))
        #expect(moved)
        #expect(due == [1])
        #expect(later.isEmpty)
    }

    /// Empty closes and valid codes with UTF-8 reasons are echoed.
    @Test func peerCloseAcceptsValidCodes() {
        #expect(PeerClose.verdict(payload: []) == .echo)
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            #expect(PeerClose.verdict(payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("bye é".utf8)) == .echo,
                    "code \(code)")
        }
    }

    /// A 1-byte payload and every code RFC 6455 §7.4 forbids are a protocol error (1002).
    @Test func peerCloseRejectsShortPayloadsAndInvalidCodes() {
        guard case .fail(1002, _) = PeerClose.verdict(payload: [0x03]) else {
            Issue.record("a 1-byte close payload must be answered 1002")
            return
        }
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65_535] {
            let verdict = PeerClose.verdict(payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
            guard case .fail(let answer, _) = verdict else {
                Issue.record("code \(code) was accepted")
                continue
            }
            #expect(answer == 1002, "code \(code)")
        }
    }

    /// A close reason that is not UTF-8 (here a UTF-16 surrogate encoded in UTF-8) is answered 1007.
    @Test func peerCloseRejectsInvalidUTF8Reason() {
        let reason: [UInt8] = [0xCE, 0xBA, 0xED, 0xA0, 0x80, 0x65]
        guard case .fail(1007, _) = PeerClose.verdict(payload: [0x03, 0xE8] + reason) else {
            Issue.record("an invalid UTF-8 close reason must be answered 1007")
            return
        }
    }

    /// UTF-8 split anywhere across pieces validates; overlongs, surrogates, code points above U+10FFFF and a
    /// message ending inside a code point do not.
    @Test func utf8StreamValidatesAcrossPiecesAndRejectsIllFormedBytes() {
        let text = Array("κόσμε €𝄞 ok".utf8)
        for split in 0...text.count {
            var stream = UTF8Stream()
            let valid = stream.feed(text[..<split]) && stream.feed(text[split...])
            #expect(valid && stream.isAtBoundary, "split at \(split)")
        }
        for bad: [UInt8] in [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80]] {
            var stream = UTF8Stream()
            let valid = stream.feed(bad)
            #expect(!valid, "\(bad) accepted")
        }
        var truncated = UTF8Stream()
        let prefixValid = truncated.feed([0xE2, 0x82])
        #expect(prefixValid && !truncated.isAtBoundary)
    }
}
