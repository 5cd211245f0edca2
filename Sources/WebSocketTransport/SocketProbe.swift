import Glibc

/// Asks the kernel whether an address is taken, to explain a failed `lws_create_context`.
enum SocketProbe {
    /// True when binding `host:port` (with SO_REUSEADDR, as lws does) fails with EADDRINUSE.
    static func addressInUse(host: String, port: Int) -> Bool {
        let isIPv6 = host.contains(":")
        let descriptor = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host == "::" ? "::" : host, &address.sin6_addr) == 1 else { return false }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let literal = ["", "*", "0.0.0.0"].contains(host) ? "0.0.0.0" : host
            guard inet_pton(AF_INET, literal, &address.sin_addr) == 1 else { return false }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return result != 0 && errno == EADDRINUSE
    }
}
