/// A bus failure with a stable code (for logs, metrics and tests) and a readable message.
public struct BusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes; new ones may be added, existing ones never change meaning.
    public enum Code: String, Sendable {
        /// The URL list is empty or a URL was refused by the client library.
        case invalidConfiguration = "bus_invalid_configuration"
        /// Disconnected and the pending buffer (`pendingBytesMax`) is full: the publish was not queued.
        case pendingBufferFull = "bus_pending_buffer_full"
        /// The connection was closed by `close()`; nothing more can be sent or received.
        case closed = "bus_closed"
        /// `flush` did not get the server's answer in time (disconnected, or the server is stalled).
        case timeout = "bus_timeout"
        /// A subject that NATS refuses (empty, or with spaces).
        case invalidSubject = "bus_invalid_subject"
        /// Any other status from libnats; the message carries its text.
        case library = "bus_library"
        /// An envelope's bytes are not a valid encoding (see ``EventEnvelope``).
        case malformedEnvelope = "bus_malformed_envelope"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
