import Keys
import Glibc

/// Constants of the kernel's include/uapi/linux/wireguard.h (generic netlink family "wireguard", version 1).
enum WG {
    static let genlName = "wireguard", genlVersion: UInt8 = 1
    static let CMD_GET_DEVICE: UInt8 = 0, CMD_SET_DEVICE: UInt8 = 1

    static let DEVICE_F_REPLACE_PEERS: UInt32 = 1 << 0
    static let DEVICE_A_IFINDEX: UInt16 = 1, DEVICE_A_IFNAME: UInt16 = 2, DEVICE_A_PRIVATE_KEY: UInt16 = 3
    static let DEVICE_A_PUBLIC_KEY: UInt16 = 4, DEVICE_A_FLAGS: UInt16 = 5, DEVICE_A_LISTEN_PORT: UInt16 = 6
    static let DEVICE_A_FWMARK: UInt16 = 7, DEVICE_A_PEERS: UInt16 = 8

    static let PEER_F_REMOVE_ME: UInt32 = 1 << 0, PEER_F_REPLACE_ALLOWEDIPS: UInt32 = 1 << 1
    static let PEER_F_UPDATE_ONLY: UInt32 = 1 << 2
    static let PEER_A_PUBLIC_KEY: UInt16 = 1, PEER_A_PRESHARED_KEY: UInt16 = 2, PEER_A_FLAGS: UInt16 = 3
    static let PEER_A_ENDPOINT: UInt16 = 4, PEER_A_PERSISTENT_KEEPALIVE_INTERVAL: UInt16 = 5
    static let PEER_A_LAST_HANDSHAKE_TIME: UInt16 = 6, PEER_A_RX_BYTES: UInt16 = 7, PEER_A_TX_BYTES: UInt16 = 8
    static let PEER_A_ALLOWEDIPS: UInt16 = 9, PEER_A_PROTOCOL_VERSION: UInt16 = 10

    static let ALLOWEDIP_A_FAMILY: UInt16 = 1, ALLOWEDIP_A_IPADDR: UInt16 = 2, ALLOWEDIP_A_CIDR_MASK: UInt16 = 3

    // <linux/genetlink.h>
    static let GENL_ID_CTRL: UInt16 = 0x10, CTRL_CMD_GETFAMILY: UInt8 = 3
    static let CTRL_ATTR_FAMILY_ID: UInt16 = 1, CTRL_ATTR_FAMILY_NAME: UInt16 = 2
}

/// Encoding and decoding of WireGuard's generic netlink messages, without a socket so tests can check bytes.
enum WireGuardNetlinkCodec {
    /// wireguard-tools' SOCKET_BUFFER_SIZE: the page size, at most 8 KiB (4 KiB on x86-64).
    static let defaultMessageLimit = min(Int(sysconf(Int32(_SC_PAGESIZE))), 8192)

    /// One part of a SET_DEVICE request and the peers it touches (for error messages).
    struct SetMessage {
        var bytes: [UInt8]
        var peers: [Key]
    }

    static func genlHeader(_ command: UInt8, version: UInt8 = WG.genlVersion) -> [UInt8] { [command, version, 0, 0] }

    static func getRequest(family: UInt16, interface: String, sequence: UInt32) -> [UInt8] {
        var w = NetlinkWriter(type: family, flags: NL.NLM_F_REQUEST | NL.NLM_F_ACK | NL.NLM_F_DUMP, sequence: sequence,
                              extraHeader: genlHeader(WG.CMD_GET_DEVICE))
        w.putString(WG.DEVICE_A_IFNAME, interface)
        return w.bytes
    }

    /// The messages of one SET_DEVICE operation, split exactly as wireguard-tools' kernel_set_device does: a
    /// message is closed when the next attribute would pass `limit`; the next one repeats the interface name and
    /// the interrupted peer's public key and continues with its remaining allowed IPs (without re-sending its
    /// flags, preshared key, endpoint and keepalive). Device attributes go in the first message only.
    static func setMessages(_ change: DeviceChange, interface: String, family: UInt16, firstSequence: UInt32,
                            limit: Int = defaultMessageLimit) -> [SetMessage] {
        var messages = [SetMessage]()
        var peerIndex: Int?          // wireguard-tools' `peer`: nil before the first message
        var allowedIndex: Int?       // wireguard-tools' `allowedip`: nil unless a peer's IPs were split
        var sequence = firstSequence
        repeat {
            var w = NetlinkWriter(type: family, flags: NL.NLM_F_REQUEST | NL.NLM_F_ACK, sequence: sequence,
                                  extraHeader: genlHeader(WG.CMD_SET_DEVICE))
            sequence &+= 1
            w.putString(WG.DEVICE_A_IFNAME, interface)
            var touched = [Key]()
            if peerIndex == nil {
                if let key = change.privateKey { w.put(WG.DEVICE_A_PRIVATE_KEY, key.secret.bytes) }
                if let port = change.listenPort { w.put(WG.DEVICE_A_LISTEN_PORT, littleEndianBytes(port)) }
                if let mark = change.fwmark { w.put(WG.DEVICE_A_FWMARK, littleEndianBytes(mark)) }
                if change.replacePeers { w.put(WG.DEVICE_A_FLAGS, littleEndianBytes(WG.DEVICE_F_REPLACE_PEERS)) }
            }
            if change.peers.isEmpty {
                messages.append(SetMessage(bytes: w.bytes, peers: []))
                break
            }
            let peersNest = w.nestStart(WG.DEVICE_A_PEERS)!
            var index = peerIndex ?? 0
            peerIndex = nil
            peerLoop: while index < change.peers.count {
                let peer = change.peers[index]
                var peerNest: Int?
                var allowedNest: Int?
                var toobig = false
                encodePeer: do {
                    guard let nest = w.nestStart(0, limit: limit) else { toobig = true; break encodePeer }
                    peerNest = nest
                    guard w.put(WG.PEER_A_PUBLIC_KEY, peer.publicKey.bytes, limit: limit) else { toobig = true; break encodePeer }
                    var flags: UInt32 = 0
                    if peer.remove { flags |= WG.PEER_F_REMOVE_ME }
                    if peer.updateOnly { flags |= WG.PEER_F_UPDATE_ONLY }
                    if allowedIndex == nil {
                        if peer.replaceAllowedIPs { flags |= WG.PEER_F_REPLACE_ALLOWEDIPS }
                        if let psk = peer.presharedKey,
                           !w.put(WG.PEER_A_PRESHARED_KEY, psk.bytes, limit: limit) { toobig = true; break encodePeer }
                        if let endpoint = peer.endpoint,
                           !w.put(WG.PEER_A_ENDPOINT, endpoint.sockaddrBytes, limit: limit) { toobig = true; break encodePeer }
                        if let keepalive = peer.persistentKeepalive,
                           !w.put(WG.PEER_A_PERSISTENT_KEEPALIVE_INTERVAL, littleEndianBytes(keepalive), limit: limit) {
                            toobig = true; break encodePeer
                        }
                    }
                    if flags != 0, !w.put(WG.PEER_A_FLAGS, littleEndianBytes(flags), limit: limit) { toobig = true; break encodePeer }
                    if !peer.allowedIPs.isEmpty {
                        if allowedIndex == nil { allowedIndex = 0 }
                        guard let nest = w.nestStart(WG.PEER_A_ALLOWEDIPS, limit: limit) else {
                            // wireguard-tools goes to toobig_allowedips here, which ends the peer nest.
                            w.nestEnd(peerNest!)
                            touched.append(peer.publicKey)
                            peerIndex = index
                            break peerLoop
                        }
                        allowedNest = nest
                        while allowedIndex! < peer.allowedIPs.count {
                            let ip = peer.allowedIPs[allowedIndex!]
                            guard putAllowedIP(ip, into: &w, limit: limit) else {
                                // toobig_allowedips: close what is open and continue this peer in the next message.
                                w.nestEnd(allowedNest!)
                                w.nestEnd(peerNest!)
                                touched.append(peer.publicKey)
                                peerIndex = index
                                break peerLoop
                            }
                            allowedIndex! += 1
                        }
                        w.nestEnd(allowedNest!)
                        allowedIndex = nil
                    }
                }
                if toobig {
                    // toobig_peers: drop the partial peer; it starts over in the next message.
                    if let peerNest { w.nestCancel(peerNest) }
                    peerIndex = index
                    break peerLoop
                }
                w.nestEnd(peerNest!)
                touched.append(peer.publicKey)
                index += 1
            }
            w.nestEnd(peersNest)
            messages.append(SetMessage(bytes: w.bytes, peers: touched))
        } while peerIndex != nil
        return messages
    }

    /// One allowed-IP nest, or nothing (false) if it does not fit.
    private static func putAllowedIP(_ ip: AllowedIP, into w: inout NetlinkWriter, limit: Int) -> Bool {
        guard let nest = w.nestStart(0, limit: limit) else { return false }
        let family = UInt16(ip.family == .v4 ? AF_INET : AF_INET6)
        guard w.put(WG.ALLOWEDIP_A_FAMILY, littleEndianBytes(family), limit: limit),
              w.put(WG.ALLOWEDIP_A_IPADDR, ip.address, limit: limit),
              w.put(WG.ALLOWEDIP_A_CIDR_MASK, [ip.cidr], limit: limit)
        else {
            w.nestCancel(nest)
            return false
        }
        w.nestEnd(nest)
        return true
    }

    /// Decodes the messages of one GET_DEVICE dump. A peer whose allowed IPs did not fit in one message
    /// appears again at the start of the next with the same public key; its parts are merged
    /// (wireguard-tools' coalesce_peers).
    static func decodeDevice(_ messages: [NetlinkMessage], interface: String) throws(WireGuardError) -> Device {
        var device = Device(name: interface)
        func bad(_ what: String) -> WireGuardError { .protocolError(interface: interface, "netlink GET_DEVICE: bad \(what)") }
        for message in messages {
            guard message.payload.count >= 4,
                  let attributes = NetlinkAttribute.parse(message.payload.dropFirst(4)) else { throw bad("message") }
            for attribute in attributes {
                switch attribute.type {
                case WG.DEVICE_A_IFNAME: device.name = attribute.string
                case WG.DEVICE_A_PRIVATE_KEY:
                    guard let key = Key(bytes: Array(attribute.payload)) else { throw bad("private key") }
                    device.privateKey = key.isZero ? nil : PrivateKey(key)
                case WG.DEVICE_A_PUBLIC_KEY:
                    guard let key = Key(bytes: Array(attribute.payload)) else { throw bad("public key") }
                    device.publicKey = key.isZero ? nil : key
                case WG.DEVICE_A_LISTEN_PORT:
                    guard let port = attribute.u16 else { throw bad("listen port") }
                    device.listenPort = port
                case WG.DEVICE_A_FWMARK:
                    guard let mark = attribute.u32 else { throw bad("fwmark") }
                    device.fwmark = mark
                case WG.DEVICE_A_PEERS:
                    guard let peers = attribute.nested else { throw bad("peers") }
                    for peerAttribute in peers {
                        let peer = try decodePeer(peerAttribute, bad: bad)
                        if let last = device.peers.last, last.publicKey == peer.publicKey {
                            device.peers[device.peers.count - 1].allowedIPs += peer.allowedIPs
                        } else {
                            device.peers.append(peer)
                        }
                    }
                default: break
                }
            }
        }
        return device
    }

    private static func decodePeer(_ attribute: NetlinkAttribute, bad: (String) -> WireGuardError) throws(WireGuardError) -> Peer {
        guard let attributes = attribute.nested else { throw bad("peer") }
        var key: Key?
        var peer = Peer(publicKey: Key(bytes: [UInt8](repeating: 0, count: 32))!)
        for a in attributes {
            switch a.type {
            case WG.PEER_A_PUBLIC_KEY: key = Key(bytes: Array(a.payload))
            case WG.PEER_A_PRESHARED_KEY:
                guard let psk = Key(bytes: Array(a.payload)) else { throw bad("preshared key") }
                peer.presharedKey = psk.isZero ? nil : psk
            case WG.PEER_A_ENDPOINT:
                guard let endpoint = Endpoint(sockaddrBytes: a.payload) else { throw bad("endpoint") }
                peer.endpoint = endpoint
            case WG.PEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
                guard let value = a.u16 else { throw bad("keepalive") }
                peer.persistentKeepalive = value
            case WG.PEER_A_LAST_HANDSHAKE_TIME:
                // struct __kernel_timespec: two s64.
                guard a.payload.count == 16, let seconds = a.u64 else { throw bad("handshake time") }
                let nanos = NetlinkAttribute(type: 0, payload: a.payload.dropFirst(8)).u64!
                if seconds != 0 || nanos != 0 {
                    peer.lastHandshake = Timestamp(seconds: Int64(bitPattern: seconds), nanoseconds: Int64(bitPattern: nanos))
                }
            case WG.PEER_A_RX_BYTES: peer.rxBytes = a.u64 ?? 0
            case WG.PEER_A_TX_BYTES: peer.txBytes = a.u64 ?? 0
            case WG.PEER_A_ALLOWEDIPS:
                guard let ips = a.nested else { throw bad("allowed IPs") }
                for ipAttribute in ips {
                    guard let fields = ipAttribute.nested else { throw bad("allowed IP") }
                    var address: [UInt8]?, cidr: UInt8?
                    for f in fields {
                        if f.type == WG.ALLOWEDIP_A_IPADDR { address = Array(f.payload) }
                        if f.type == WG.ALLOWEDIP_A_CIDR_MASK { cidr = f.u8 }
                    }
                    guard let address, let cidr, let ip = AllowedIP(address: address, cidr: cidr) else { throw bad("allowed IP") }
                    peer.allowedIPs.append(ip)
                }
            default: break
            }
        }
        // wireguard-tools fails a peer without a public key with ENXIO.
        guard let key else { throw bad("peer without public key") }
        peer.publicKey = key
        return peer
    }
}
