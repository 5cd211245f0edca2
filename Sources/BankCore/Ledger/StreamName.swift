/// An event stream's name. Each stream has its own sequence numbers, starting at 1.
public enum StreamName: Sendable, Hashable, CustomStringConvertible {
    /// `account:ID`: balance and transfer events of one account.
    case account(AccountID)
    /// `user:ID`: events for one user (OTP prompts, service requests).
    case user(UserID)
    /// `admin:threats`: the security monitor feed.
    case adminThreats
    /// `staff:requests`: the service-request queue.
    case staffRequests

    public var description: String {
        switch self {
        case .account(let id): "account:\(id)"
        case .user(let id): "user:\(id)"
        case .adminThreats: "admin:threats"
        case .staffRequests: "staff:requests"
        }
    }

    public init?(_ text: String) {
        if text == "admin:threats" { self = .adminThreats; return }
        if text == "staff:requests" { self = .staffRequests; return }
        if text.hasPrefix("account:"), let id = parseIdentifier(String(text.dropFirst(8))) {
            self = .account(AccountID(id)); return
        }
        if text.hasPrefix("user:"), let id = parseIdentifier(String(text.dropFirst(5))) {
            self = .user(UserID(id)); return
        }
        return nil
    }
}
