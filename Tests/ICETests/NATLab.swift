import Foundation
import TestSupport

/// A small internet in network namespaces: an "inet" namespace with a bridge and a real coturn, and two sites.
/// A site is a host namespace, behind an nftables masquerading router unless `public`.
///
///     hostA(lan0 192.168.1.2) -- natA(lan0 | wan0 203.0.113.2) --\
///                                                                 br0 203.0.113.1 (inet: turnserver)
///     hostB(lan0 192.168.2.2) -- natB(lan0 | wan0 203.0.113.3) --/
///     a public site's host sits on the bridge itself (203.0.113.1x).
///
/// Links are not named veth*: Debian's libnice skips such interfaces when gathering.
final class NATLab: Sendable {
    struct Site: Sendable {
        let host: NetNS
        let router: NetNS?
    }

    static let turnAddress = "203.0.113.1"
    static let turnUser = Turnserver.user, turnPassword = Turnserver.password

    let inet: NetNS
    let a: Site, b: Site
    private let turnserver: Turnserver

    init(aPublic: Bool = false, bPublic: Bool = false) throws {
        inet = try NetNS(prefix: "icei")
        var created: [NetNS] = [inet]
        do {
            try inet.exec(["ip", "link", "add", "br0", "type", "bridge"])
            try inet.exec(["ip", "addr", "add", "\(Self.turnAddress)/24", "dev", "br0"])
            try inet.exec(["ip", "link", "set", "br0", "up"])
            // Like the internet, silently lose packets to unroutable (private) addresses: coturn closes an
            // allocation whose relay socket gets a send error, which a real network would not cause.
            // The default gateway is a made-up neighbour on the bridge: frames to it are flooded and ignored.
            try inet.exec(["ip", "neigh", "add", "203.0.113.254", "lladdr", "02:00:00:00:00:fe", "dev", "br0",
                           "nud", "permanent"])
            try inet.exec(["ip", "route", "add", "default", "via", "203.0.113.254"])
            a = try Self.makeSite(index: 1, public: aPublic, inet: inet, created: &created)
            b = try Self.makeSite(index: 2, public: bPublic, inet: inet, created: &created)
            turnserver = try Turnserver(in: inet, address: Self.turnAddress)
        } catch {
            for ns in created { ns.destroy() }
            throw error
        }
    }

    private static func makeSite(index: Int, public isPublic: Bool, inet: NetNS,
                                 created: inout [NetNS]) throws -> Site {
        let host = try NetNS(prefix: "iceh\(index)")
        created.append(host)
        let port = "p\(index)"
        if isPublic {
            try inet.exec(["ip", "link", "add", port, "type", "veth", "peer", "name", "lan0", "netns", host.name])
            try bridge(port, in: inet)
            try host.exec(["ip", "addr", "add", "203.0.113.1\(index)/24", "dev", "lan0"])
            try host.exec(["ip", "link", "set", "lan0", "up"])
            return Site(host: host, router: nil)
        }
        let router = try NetNS(prefix: "icer\(index)")
        created.append(router)
        try inet.exec(["ip", "link", "add", port, "type", "veth", "peer", "name", "wan0", "netns", router.name])
        try bridge(port, in: inet)
        try router.exec(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan0", "netns", host.name])
        try router.exec(["ip", "addr", "add", "203.0.113.\(index + 1)/24", "dev", "wan0"])
        try router.exec(["ip", "addr", "add", "192.168.\(index).1/24", "dev", "lan0"])
        for link in ["wan0", "lan0"] { try router.exec(["ip", "link", "set", link, "up"]) }
        try router.exec(["ip", "route", "add", "default", "via", turnAddress])
        try router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try router.exec(["nft", "-f", "-"], input: """
            table ip nat {
                chain postrouting {
                    type nat hook postrouting priority srcnat; policy accept;
                    oifname "wan0" masquerade
                }
                # A home router's firewall. It also keeps the mapping endpoint-independent: an unsolicited
                # packet to the router would otherwise leave a conntrack entry that makes the masquerade
                # pick another port for the host's own packet to the same peer (hole punching would fail).
                chain input {
                    type filter hook input priority filter; policy accept;
                    iifname "wan0" ct state new drop
                }
            }
            """)
        try host.exec(["ip", "addr", "add", "192.168.\(index).2/24", "dev", "lan0"])
        try host.exec(["ip", "link", "set", "lan0", "up"])
        try host.exec(["ip", "route", "add", "default", "via", "192.168.\(index).1"])
        return Site(host: host, router: router)
    }

    private static func bridge(_ port: String, in inet: NetNS) throws {
        try inet.exec(["ip", "link", "set", port, "master", "br0"])
        try inet.exec(["ip", "link", "set", port, "up"])
    }

    /// Drops all UDP a site's router would forward, so the host can only use TCP to the outside.
    func blockUDP(_ site: Site) throws {
        try site.router!.exec(["nft", "-f", "-"], input: """
            table inet blockudp {
                chain forward {
                    type filter hook forward priority filter; policy accept;
                    meta l4proto udp drop
                }
            }
            """)
    }

    func peer(_ name: String, at site: Site, _ arguments: [String]) throws -> PeerProcess {
        try PeerProcess(name, namespace: site.host.name, arguments: arguments)
    }

    func destroy() {
        turnserver.stop()
        for ns in [a.host, a.router, b.host, b.router, inet].compactMap({ $0 }) { ns.destroy() }
    }
}
