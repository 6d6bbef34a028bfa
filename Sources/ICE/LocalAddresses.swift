import Foundation

/// Local addresses to gather on, chosen by interface-name globs (`!glob` excludes).
enum LocalAddresses {
    struct Address: Equatable {
        var interface: String
        var ip: String
        var isIPv6: Bool
        var isLoopback: Bool
    }

    /// Addresses of up interfaces whose name matches at least one include glob and no exclude glob.
    /// With only excludes, the start is libnice's own default: every interface but loopback.
    /// IPv6 link-local addresses are skipped: candidates carry no scope.
    static func matching(_ patterns: [String], ipv4: Bool, ipv6: Bool) -> [Address] {
        let excludes = patterns.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) }
        let includes = patterns.filter { !$0.hasPrefix("!") }
        return all().filter { a in
            (a.isIPv6 ? ipv6 : ipv4)
                && (includes.isEmpty ? !a.isLoopback : includes.contains { fnmatch($0, a.interface, 0) == 0 })
                && !excludes.contains { fnmatch($0, a.interface, 0) == 0 }
        }
    }

    static func all() -> [Address] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var result: [Address] = []
        var cursor = head
        while let entry = cursor?.pointee {
            defer { cursor = entry.ifa_next }
            guard let sa = entry.ifa_addr, entry.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
            let family = Int32(sa.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(sa, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let ip = String(cBuffer: host)
            if family == AF_INET6, ip.lowercased().hasPrefix("fe80") { continue }
            result.append(Address(interface: String(cString: entry.ifa_name), ip: ip, isIPv6: family == AF_INET6,
                                  isLoopback: entry.ifa_flags & UInt32(IFF_LOOPBACK) != 0))
        }
        return result
    }
}
