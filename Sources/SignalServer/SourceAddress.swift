import Glibc
import NIOCore

/// What per-address limits count by: an IPv4 address, or the /64 an IPv6 address is in (a single host is
/// commonly given a whole /64, so counting single IPv6 addresses would not limit it). IPv4-mapped IPv6
/// addresses count as IPv4.
enum SourceAddress {
    static func key(_ address: SocketAddress?) -> String {
        guard let ip = address?.ipAddress else { return "local" }
        return key(ip: ip)
    }

    /// From grpc-swift's `remotePeer`: "ipv4:1.2.3.4:5", "ipv6:[::1]:5" or "unix:PATH".
    static func key(remotePeer: String) -> String {
        if remotePeer.hasPrefix("ipv4:"), let colon = remotePeer.lastIndex(of: ":") {
            return key(ip: String(remotePeer[remotePeer.index(remotePeer.startIndex, offsetBy: 5)..<colon]))
        }
        if remotePeer.hasPrefix("ipv6:["), let close = remotePeer.firstIndex(of: "]") {
            return key(ip: String(remotePeer[remotePeer.index(remotePeer.startIndex, offsetBy: 6)..<close]))
        }
        return "local"
    }

    static func key(ip: String) -> String {
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, ip, &v6) == 1 else { return ip }
        var bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        for i in 8..<16 { bytes[i] = 0 }
        var prefix = in6_addr()
        withUnsafeMutableBytes(of: &prefix) { $0.copyBytes(from: bytes) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &prefix, &text, socklen_t(text.count)) != nil else { return ip }
        return String(cString: text) + "/64"
    }
}
