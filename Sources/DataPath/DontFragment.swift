import Synchronization

/// Clears DF on the IPv4 packets that leave the session's ICE sockets, as kernel WireGuard does on its own
/// outer packets: userspace WireGuard and libnice send with the Linux default (DF set), so where a link
/// on the path is narrower than the tunnel's outer packets and its router drops the ICMP "fragmentation
/// needed" (PPPoE, over-eager firewalls), every large packet vanishes and TCP through the tunnel stalls.
/// Without DF that router fragments instead. It covers WireGuard's packets on a kernel-redirected pair
/// (their source port is the ICE socket's once the peer's chain has rewritten it) and what libnice sends
/// to the TURN server for a relayed pair, both from the same socket port.
///
/// The set `nodf` in the session's table holds the ports; the base output chain clears the bit after the
/// peers' chains ran (`KernelRedirect.baseChains`). nft's payload statement updates the IPv4 header
/// checksum. IPv6 has no DF: routers never fragment, and the interface MTU is the only remedy there.
/// A port is counted per table, so two paths on one socket (make-before-break) keep it until both close.
enum DontFragment {
    private static let users = Mutex<[String: Int]>([:])

    static func clear(port: UInt16, table: NFTablesTable) throws {
        try users.withLock { users in
            let key = "\(table.name) \(port)"
            if users[key, default: 0] == 0 {
                try NFTables.run(KernelRedirect.baseChains("inet \(table.name)") +
                                 "add element inet \(table.name) nodf { \(port) }\n")
            }
            users[key, default: 0] += 1
        }
    }

    static func release(port: UInt16, table: NFTablesTable) {
        users.withLock { users in
            let key = "\(table.name) \(port)"
            guard let count = users[key] else { return }
            guard count <= 1 else { users[key] = count - 1; return }
            users[key] = nil
            // The table may be gone already (the session deleted it whole).
            _ = try? NFTables.run("delete element inet \(table.name) nodf { \(port) }\n", ignoring: "No such file or directory")
        }
    }
}
