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

/// Stores each threat and pushes it on `admin:threats` in the same commit. Threat ids are given here, in
/// order, so the event can carry its id.
final class ThreatReporter: Sendable {
    private let lastID: Mutex<Int64>
    private let sequencer: EventSequencer

    init(lastID: Int64, sequencer: EventSequencer) {
        self.lastID = Mutex(lastID)
        self.sequencer = sequencer
    }

    func report(_ kind: ThreatKind, user: UserID?, username: String?, ip: String?, detail: String) {
        HubMetrics.threat(kind)
        let now = Clock.now()
        lastID.withLock { last in
            last += 1
            let threat = ThreatRecord(id: last, kind: kind.rawValue, severity: kind.severity, user: user, ip: ip,
                                      detail: detail, at: now)
            let data = Self.wire(threat, username: username)
            sequencer.submit([EventDraft(stream: .adminThreats, kind: "threat", data: data)], at: now, body: { db in
                try SecurityRecords.insertThreat(db, threat)
            })
        }
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
