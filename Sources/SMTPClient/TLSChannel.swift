import COpenSSL
import Glibc

/// An OpenSSL client context (`SSL_CTX`): TLS 1.2 or later, and, when verification is on, the peer's
/// certificate chain checked against the system CA paths or a given CA file.
///
/// An `SSL_CTX` is safe to share between threads once configured: OpenSSL locks its internal state (the
/// session cache, reference counts) and this class never changes the context after `init`. That is what
/// makes the `@unchecked Sendable` below sound.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    let verifyCertificate: Bool

    init(verifyCertificate: Bool, caFile: String?) throws(SMTPError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw SMTPError(.tlsFailed, "SSL_CTX_new: " + TLSChannel.openSSLErrors())
        }
        self.context = context
        self.verifyCertificate = verifyCertificate
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // SSL_write may be retried with the same bytes at another address (Swift arrays can move).
        SSL_CTX_ctrl(context, SSL_CTRL_MODE, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        guard verifyCertificate else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            return
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        let loaded = if let caFile { SSL_CTX_load_verify_locations(context, caFile, nil) }
                     else { SSL_CTX_set_default_verify_paths(context) }
        guard loaded == 1 else {
            throw SMTPError(.tlsFailed, "cannot load CA certificates from \(caFile ?? "the system paths"): "
                            + TLSChannel.openSSLErrors())
        }
    }

    deinit { SSL_CTX_free(context) }
}

/// One TLS session over a connected non-blocking socket. OpenSSL's "want read / want write" answers become
/// polls bounded by the caller's deadline. Confined to the conversation that created it, like the socket.
final class TLSChannel {
    private let ssl: OpaquePointer
    private let socket: TCPSocket
    private let context: TLSContext

    /// Runs the client handshake, sending `serverName` as SNI (unless it is an IP address) and, when the
    /// context verifies, checking that the certificate is valid for that name or address.
    init(context: TLSContext, socket: TCPSocket, serverName: String, deadline: Deadline) throws(SMTPError) {
        guard let ssl = SSL_new(context.context) else {
            throw SMTPError(.tlsFailed, "SSL_new: " + Self.openSSLErrors())
        }
        self.ssl = ssl
        self.socket = socket
        self.context = context
        SSL_set_fd(ssl, socket.descriptor)
        let isAddress = Self.isIPAddress(serverName)
        if !isAddress {
            serverName.withCString { name in
                _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
                             UnsafeMutableRawPointer(mutating: name))
            }
        }
        if context.verifyCertificate {
            let pinned = isAddress ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
                                   : SSL_set1_host(ssl, serverName)
            guard pinned == 1 else { throw SMTPError(.tlsFailed, "cannot check the certificate for \(serverName)") }
        }
        do {
            _ = try perform("TLS handshake", until: deadline) { SSL_connect(ssl) }
        } catch {
            let verification = SSL_get_verify_result(ssl)
            guard verification != X509_V_OK else { throw error }
            let reason = String(cString: X509_verify_cert_error_string(verification))
            throw SMTPError(.tlsFailed, "the certificate of \(serverName) was refused: \(reason)")
        }
    }

    deinit { SSL_free(ssl) }

    /// Reads decrypted bytes; 0 when the peer closed the TLS session.
    func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(SMTPError) -> Int {
        let count = Int32(clamping: buffer.count)
        return Int(try perform("reading the reply", until: deadline) { SSL_read(ssl, buffer.baseAddress, count) })
    }

    func write(_ bytes: UnsafeRawBufferPointer, until deadline: Deadline) throws(SMTPError) {
        guard bytes.count > 0 else { return }
        let count = Int32(clamping: bytes.count)
        let written = try perform("sending", until: deadline) { SSL_write(ssl, bytes.baseAddress, count) }
        guard written == count else { throw SMTPError(.connectionClosed, "the server closed the TLS session") }
    }

    /// Sends close_notify without waiting for the server's (the TCP close follows).
    func close() {
        ERR_clear_error()
        SSL_shutdown(ssl)
    }

    /// Runs an OpenSSL I/O call until it completes, polling the socket whenever OpenSSL needs it readable or
    /// writable. Returns the call's positive result, or 0 when the peer closed cleanly.
    private func perform(_ operation: String, until deadline: Deadline,
                         _ call: () -> Int32) throws(SMTPError) -> Int32 {
        while true {
            ERR_clear_error()
            let result = call()
            if result > 0 { return result }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ: try socket.wait(for: POLLIN, until: deadline, doing: operation)
            case SSL_ERROR_WANT_WRITE: try socket.wait(for: POLLOUT, until: deadline, doing: operation)
            case SSL_ERROR_ZERO_RETURN: return 0
            case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
                throw SMTPError(.connectionClosed, "\(operation): the server closed the connection")
            default: throw SMTPError(.tlsFailed, "\(operation): " + Self.openSSLErrors())
            }
        }
    }

    /// Drains OpenSSL's error queue into one line.
    static func openSSLErrors() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "unknown OpenSSL error" : messages.joined(separator: "; ")
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }
}
