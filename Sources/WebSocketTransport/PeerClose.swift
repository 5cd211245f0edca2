/// The checks RFC 6455 asks of a close frame the peer sent (§5.5.1, §7.1.5, §7.4). Pure.
///
/// lws 4.1.6 echoes a 1-byte payload and any code ≥ 5000 as they came; this rule is applied first, in
/// `LWS_CALLBACK_WS_PEER_INITIATED_CLOSE`, and an invalid close is answered with the code it names.
enum PeerClose {
    enum Verdict: Equatable {
        /// A valid close: lws echoes it and closes.
        case echo
        /// An invalid close: answer with this code (1002 protocol error, 1007 invalid payload) and close.
        case fail(code: UInt16, reason: String)
    }

    /// Judges a close payload: empty, or a 2-byte code followed by a UTF-8 reason.
    static func verdict(payload: [UInt8]) -> Verdict {
        if payload.isEmpty { return .echo }
        guard payload.count >= 2 else {
            return .fail(code: TransportCloseCode.protocolError, reason: "close payload of 1 byte")
        }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard isValidReceivedCode(code) else {
            return .fail(code: TransportCloseCode.protocolError, reason: "invalid close code \(code)")
        }
        guard isValidUTF8(payload[2...]) else {
            return .fail(code: TransportCloseCode.invalidPayload, reason: "close reason is not UTF-8")
        }
        return .echo
    }

    /// Codes a peer may send (§7.4.1, §7.4.2 and the IANA registry): 1000–1003, 1007–1014 and 3000–4999.
    /// 1004 is reserved; 1005, 1006 and 1015 must never be sent; the rest of 1000–2999 is unassigned;
    /// nothing below 1000 or from 5000 on is a close code.
    static func isValidReceivedCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    /// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
    static func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
