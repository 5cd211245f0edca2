import BankCore
import BankStorage
import BankWire
import Synchronization

/// The kinds of threat on `admin:threats` (see docs/protocol.md).
enum ThreatKind: String, Sendable, CaseIterable {
    case bruteForce = "brute_force"
    case accountLocked = "account_locked"
    case rateLimited = "rate_limited"
    case otpFailed = "otp_failed"
    case newIP = "new_ip"
    case largeTransfer = "large_transfer"
    case transferBurst = "transfer_burst"
    case lockedAction = "locked_action"
    case codeBruteForce = "code_brute_force"

    var severity: String {
        switch self {
        case .rateLimited, .newIP: "low"
        case .bruteForce, .otpFailed, .largeTransfer, .transferBurst: "medium"
        case .accountLocked, .lockedAction, .codeBruteForce: "high"
        }
    }
}

/// Stores each threat and pushes it on `admin:threats` in the same commit. A threat's id is reserved in the
/// database first (`IdentifierRecords`: hubs sharing a database never give one id twice), so the event can
/// carry it; the threat and its event follow in the next commit. Reservations complete in the order they were
/// asked for, so ids and seqs on `admin:threats` increase together.
final class ThreatReporter: Sendable {
    private let sequencer: EventSequencer

    init(sequencer: EventSequencer) {
        self.sequencer = sequencer
    }

    func report(_ kind: ThreatKind, user: UserID?, username: String?, ip: String?, detail: String) {
        HubMetrics.threat(kind)
        let now = Clock.now()
        let box = Mutex<Int64>(0)
        sequencer.writer.submit(.savepoint, { db in
            let id = try IdentifierRecords.reserve(db, .threats)
            box.withLock { $0 = id }
        }, completion: { [sequencer] result in
            // A writer that is closing takes no more work: the threat is lost with the hub, as it was before.
            guard case .success = result else { return }
            let threat = ThreatRecord(id: box.withLock { $0 }, kind: kind.rawValue, severity: kind.severity,
                                      user: user, ip: ip, detail: detail, at: now)
            sequencer.submit([EventDraft(stream: .adminThreats, kind: "threat", data: Self.wire(threat, username: username))],
                             at: now, body: { db in try SecurityRecords.insertThreat(db, threat) })
        })
    }

    static func wire(_ threat: ThreatRecord, username: String?) -> JSONValue {
        var object: JSONObject = [
            "id": .string(String(threat.id)), "kind": .string(threat.kind), "severity": .string(threat.severity),
            "user": threat.user.map { .string($0.description) } ?? .null,
            "username": (username ?? threat.username).map(JSONValue.string) ?? .null, "ip": threat.ip.map(JSONValue.string) ?? .null,
            "detail": .string(threat.detail), "at": .string(threat.at.rfc3339),
        ]
        if let ackedBy = threat.ackedBy { object.append(key: "acked_by", value: .string(ackedBy.description)) }
        if let name = threat.ackedByUsername { object.append(key: "acked_by_username", value: .string(name)) }
        if let ackedAt = threat.ackedAt { object.append(key: "acked_at", value: .string(ackedAt.rfc3339)) }
        return .object(object)
    }
}
