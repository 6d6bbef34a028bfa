import Keys
import Blocking
import Foundation
import ICE
import Logging
import Synchronization
import WireGuard

/// A direct UDP pair carried by the kernel: WireGuard sends straight to the remote candidate, and two
/// stateless nftables rules swap ports so the packets travel on the ICE socket's 5-tuple (reusing the NAT
/// mappings and holes ICE made) while STUN keeps reaching libnice. No WireGuard packet enters userspace.
///
/// In the session's table (R = remote candidate, P = ICE socket's port, W = WireGuard's port), two base
/// chains find a peer's chains through verdict maps, so a packet costs two hooks and two lookups however
/// many peers there are (one base chain per peer and direction made every packet on a 100-peer hub walk
/// 200 hooks):
///
///     chain out { type filter hook output priority raw; policy accept;
///         ip daddr . udp dport vmap @out4;  ip6 daddr . udp dport vmap @out6
///         udp sport @nodf ip frag-off & 0x4000 != 0 ip frag-off set ip frag-off & 0xbfff }
///     chain in { type filter hook prerouting priority dstnat + 10; policy accept;
///         ip saddr . udp sport . udp dport vmap @in4;  ip6 saddr . udp sport . udp dport vmap @in6 }
///     chain out-TAG-N { udp sport W counter udp sport set P }
///     chain in-TAG-N { @th,96,32 != 0x2112a442 counter udp dport set W }
///     out4: R . Rport : jump out-TAG-N        in4: R . Rport . P : jump in-TAG-N
///
/// Priorities: outbound is rewritten at `raw` (-300), before conntrack (-200), so conntrack and any NAT on
/// this host see WireGuard's packets as the ICE socket's flow (same entry, same mapping); inbound is rewritten
/// after conntrack and destination NAT (-100), so the reply is matched to that flow (and un-NATed) before its
/// port changes, and a stateful firewall sees an established flow. No notrack is needed: there is only ever
/// one tuple. Checksums: nft's payload statement updates the UDP checksum incrementally (a zero IPv4 UDP
/// checksum is left zero). `@th,96,32` is the UDP payload's bytes 4-7: the STUN magic cookie.
///
/// Two paths of a process may want one map key (make-before-break between two local candidates towards the
/// same remote one): the later takes it over; closing the earlier leaves it, and closing the later gives
/// it back to the earlier (`owners`).
public final class KernelRedirect: DataPath {
    public let wireGuardEndpoint: Endpoint
    public let table: NFTablesTable
    private let chains: [String]
    private let elements: [MapElement]
    private let instance: UInt64
    private let closed = Mutex(false)
    private static let instances = Atomic<UInt64>(0)
    /// The instances that installed each map element, the one it jumps for now last. Held while nft runs,
    /// so that the table and this record change together.
    private static let owners = Mutex<[MapElement: [(instance: UInt64, chain: String)]]>([:])

    /// One element of one of the table's verdict maps.
    private struct MapElement: Hashable {
        let table: String
        let map: String
        let key: String
        var delete: String { "delete element inet \(table) \(map) { \(key) }\n" }
        func add(jumpingTo chain: String) -> String { "add element inet \(table) \(map) { \(key) : jump \(chain) }\n" }
    }

    /// Installs the rules. `wireGuardPort` is WireGuard's listen port; `peer` names the chains.
    public init(pair: SelectedPair, wireGuardPort: UInt16, peer: Key, table: NFTablesTable,
                logger: Logger = Logger(label: "wg-ice.datapath")) throws {
        guard pair.isDirectUDP, wireGuardPort != 0 else { throw DataPathError.notDirectUDP }
        let remote = pair.remote
        // The address comes from the peer: only its canonical numeric form, without a scope, reaches the nft script.
        guard let endpoint = Endpoint(remote.isIPv6 ? "[\(remote.address)]:\(remote.port)" : "\(remote.address):\(remote.port)"),
              !endpoint.host.contains("%")
        else { throw DataPathError.socket("remote candidate address \(remote.address) is not a numeric IP address") }
        let address = endpoint.host
        let version = remote.isIPv6 ? "6" : "4"
        // Unique per instance: while a peer switches between two direct pairs, the new rules are installed
        // before the old ones are removed, so the two must not share chains.
        let instance = Self.instances.add(1, ordering: .relaxed).newValue
        let tag = "\(Self.tag(peer))-\(instance)"
        let (out, into) = ("out-\(tag)", "in-\(tag)")
        let t = "inet \(table.name)"
        let localPort = pair.local.basePort
        let elements = [
            MapElement(table: table.name, map: "out\(version)", key: "\(address) . \(remote.port)"),
            MapElement(table: table.name, map: "in\(version)", key: "\(address) . \(remote.port) . \(localPort)"),
        ]
        try Self.owners.withLock { owners in
            let takenOver = elements.filter { owners[$0]?.isEmpty == false }.map(\.delete).joined()
            try NFTables.run(Self.baseChains(t) + """
                add chain \(t) \(out)
                add rule \(t) \(out) udp sport \(wireGuardPort) counter udp sport set \(localPort)
                add chain \(t) \(into)
                add rule \(t) \(into) @th,96,32 != 0x2112a442 counter udp dport set \(wireGuardPort)

                """ + takenOver + elements[0].add(jumpingTo: out) + elements[1].add(jumpingTo: into))
            for (element, chain) in zip(elements, [out, into]) { owners[element, default: []].append((instance, chain)) }
        }
        wireGuardEndpoint = endpoint
        self.table = table
        self.instance = instance
        self.elements = elements
        chains = [out, into]
        logger.info("kernel redirect \(endpoint) WireGuard port \(wireGuardPort) <-> ICE port \(localPort) in table \(table.name)")
    }

    /// The maps and the two base chains, (re)written whole: `add` of an existing map or chain is a no-op,
    /// and flushing before adding keeps the base rules from doubling. The output chain's last rule clears
    /// DF on the ICE sockets' packets (`DontFragment`): a peer's chain has set the ICE port by then. One
    /// transaction with the rest, so packets never see the chains without their rules.
    static func baseChains(_ t: String) -> String {
        """
        add table \(t)
        add map \(t) out4 { type ipv4_addr . inet_service : verdict; }
        add map \(t) out6 { type ipv6_addr . inet_service : verdict; }
        add map \(t) in4 { type ipv4_addr . inet_service . inet_service : verdict; }
        add map \(t) in6 { type ipv6_addr . inet_service . inet_service : verdict; }
        add set \(t) nodf { type inet_service; }
        add chain \(t) out { type filter hook output priority raw; policy accept; }
        flush chain \(t) out
        add rule \(t) out ip daddr . udp dport vmap @out4
        add rule \(t) out ip6 daddr . udp dport vmap @out6
        add rule \(t) out udp sport @nodf ip frag-off & 0x4000 != 0 ip frag-off set ip frag-off & 0xbfff
        add chain \(t) in { type filter hook prerouting priority dstnat + 10; policy accept; }
        flush chain \(t) in
        add rule \(t) in ip saddr . udp sport . udp dport vmap @in4
        add rule \(t) in ip6 saddr . udp sport . udp dport vmap @in6

        """
    }

    private static func tag(_ peer: Key) -> String { String(peer.hex.prefix(16)) }

    /// Removes the chains and map elements of every redirection of `peer` in `table`, including those of
    /// earlier processes (wg-ice-resolve --apply replacing its previous result). No table: nothing to do.
    public static func removeAll(of peer: Key, in table: NFTablesTable) throws {
        guard let listing = table.list() else { return }
        let prefixes = ["out-\(tag(peer))-", "in-\(tag(peer))-"]
        let ours = { (chain: Substring) in prefixes.contains(where: chain.hasPrefix) }
        var script = "", map: Substring?
        // nft prints a map's elements as `KEY : jump CHAIN` items separated by commas, over several lines.
        for line in listing.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0] == "map" { map = words[1]; continue }
            if words.count >= 2, words[0] == "chain", ours(words[1]) {
                script += "flush chain inet \(table.name) \(words[1])\ndelete chain inet \(table.name) \(words[1])\n"
                continue
            }
            guard let map, line.contains(": jump ") else { continue }
            let items = line.split(separator: ",").map { $0.replacingOccurrences(of: "elements = {", with: "")
                .replacingOccurrences(of: "}", with: "").trimmingCharacters(in: .whitespaces) }
            for item in items {
                let parts = item.components(separatedBy: " : jump ")
                guard parts.count == 2, ours(Substring(parts[1])) else { continue }
                script = MapElement(table: table.name, map: String(map), key: parts[0]).delete + script
            }
        }
        guard !script.isEmpty else { return }
        try NFTables.run(script)
    }

    public func close() async {
        guard closed.withLock({ let was = $0; $0 = true; return !was }) else { return }
        let (chains, elements, instance, table) = (chains, elements, instance, table)
        // nft is a process to wait for: not on the cooperative pool, which other tasks need.
        await Blocking.run {
            Self.owners.withLock { owners in
                // Elements first: a chain a map still jumps to cannot be deleted.
                var script = ""
                for element in elements {
                    guard var stack = owners[element] else { continue }
                    if stack.last?.instance == instance {
                        script += element.delete
                        stack.removeLast()
                        if let previous = stack.last { script += element.add(jumpingTo: previous.chain) }
                    } else {
                        stack.removeAll { $0.instance == instance }
                    }
                    owners[element] = stack.isEmpty ? nil : stack
                }
                script += chains.map { "flush chain inet \(table.name) \($0)\ndelete chain inet \(table.name) \($0)\n" }.joined()
                _ = try? NFTables.run(script, ignoring: "No such file or directory")
            }
        }
    }
}
