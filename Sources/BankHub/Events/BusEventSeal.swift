import BankCrypto

/// The seal on every event a hub puts on the bus: HMAC-SHA256 under a key the hubs share and NATS never sees,
/// appended to the encoded envelope. Anyone who can publish on the bus (a leaked broker credential, a
/// misconfigured subject permission) could otherwise push forged `balance` or `transfer` events to customers'
/// screens. A message whose seal does not verify is never delivered; the hub reads the stream from the store
/// instead (docs/security.md, "Several hubs").
struct BusEventSeal: Sendable {
    /// The shortest key accepted: as long as the tag, so the key is not the weaker half.
    static let keyBytesMin = 32
    /// HMAC-SHA256's output, at the end of every sealed message.
    static let tagBytes = 32

    private let key: [UInt8]

    init(key: [UInt8]) {
        precondition(key.count >= Self.keyBytesMin, "a bus key has at least \(Self.keyBytesMin) bytes")
        self.key = key
    }

    /// `envelope` followed by its tag.
    func seal(_ envelope: [UInt8]) -> [UInt8] {
        envelope + HMAC.authenticate(envelope, key: key)
    }

    /// The envelope bytes of a sealed message, or nil when it is too short or its tag does not match
    /// (compared in constant time).
    func open(_ message: [UInt8]) -> [UInt8]? {
        guard message.count > Self.tagBytes else { return nil }
        let envelope = Array(message.dropLast(Self.tagBytes))
        guard constantTimeEquals(HMAC.authenticate(envelope, key: key), message.suffix(Self.tagBytes)) else {
            return nil
        }
        return envelope
    }
}
