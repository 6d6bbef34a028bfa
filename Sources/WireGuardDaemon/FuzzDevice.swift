import Addresses
import Glibc

/// The device the fuzz targets (wireguard-fuzz) feed: fixed keys, so saved inputs replay the same way, one peer
/// with a session, an initiation in flight and allowed IPs, a TUN that is /dev/null and no UDP sockets (sends fail
/// quietly). Everything costly (the X25519 work) is done once; every input gets a fresh copy.
struct FuzzDevice {
    /// `now` of every input: far from 0, so timers and rate limits see a plausible clock.
    static let start: UInt64 = 1_000 * Clock.second
    static let deviceKey = clamped(1), peerKey = clamped(2)
    static let currentIndex: UInt32 = 0x1111_1111, initiationIndex: UInt32 = 0x3333_3333, peerIndex: UInt32 = 0x2222_2222
    /// Transport keys of the session the device has with its peer, seen from the device.
    static let sessionKeys = Noise.SessionKeys(send: Secret([UInt8](repeating: 0x5a, count: 32)),
                                               receive: Secret([UInt8](repeating: 0xa5, count: 32)))
    static let source = Endpoint("192.0.2.1:51820")!

    let device: LocalIdentity
    /// The peer's own identity, for building messages it would send.
    let peer: LocalIdentity
    /// The peer as the device knows it.
    let peerAtDevice: RemoteIdentity
    /// The device as the peer knows it.
    let deviceAtPeer: RemoteIdentity
    /// The device's handshake in flight, and the initiation message it sent.
    let initiation: Noise.InitiatorState
    let initiationMessage: [UInt8]
    private let template: Peer
    private let tunFD = open("/dev/null", O_WRONLY | O_CLOEXEC)

    init() {
        device = LocalIdentity(privateKey: Self.deviceKey)
        peer = LocalIdentity(privateKey: Self.peerKey)
        peerAtDevice = RemoteIdentity(publicKey: peer.publicKey, local: device)
        deviceAtPeer = RemoteIdentity(publicKey: device.publicKey, local: peer)
        var made = Noise.createInitiation(local: device, remote: peerAtDevice, localIndex: Self.initiationIndex,
                                          timestamp: TAI64N.make(seconds: 1_700_000_000, nanoseconds: 0),
                                          ephemeral: Secret(Self.clamped(3)))!
        var peerState = Peer(remote: peerAtDevice)
        peerState.cookies.stamp(&made.message, remote: peerAtDevice, now: Self.start)
        peerState.initiation = made.state
        peerState.endpoint = Self.source
        peerState.current = Keypair(keys: Self.sessionKeys, localIndex: Self.currentIndex, remoteIndex: Self.peerIndex,
                                    isInitiator: true, now: Self.start)
        initiation = made.state
        initiationMessage = made.message
        template = peerState
    }

    /// A fresh device holding the template peer, as the daemon would have it after a handshake.
    func make() -> KernelDevice {
        let device = KernelDevice(interfaceName: "fuzz", tun: TUN(fd: tunFD, name: "fuzz"), sockets: UDPSockets())
        device.identity = self.device
        let id = device.peers.insert(template)
        device.peerIDs[peer.publicKey] = id
        device.indexTable[Self.currentIndex] = id
        device.indexTable[Self.initiationIndex] = id
        for prefix in ["10.9.0.0/24", "fd00:9::/64"] { device.allowedIPs.insert(IPNetwork(prefix)!, peer: id) }
        return device
    }

    private static func clamped(_ seed: UInt8) -> [UInt8] {
        var key = [UInt8](repeating: seed, count: 32)
        key[0] &= 248
        key[31] = (key[31] & 127) | 64
        return key
    }
}

extension TUN {
    /// A TUN over an already open descriptor (the fuzz targets write to /dev/null).
    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }
}

extension Device {
    /// What must hold after any input: the index table and the peers agree, and so do peers and their keys.
    func checkConsistency() {
        for (index, id) in indexTable {
            precondition(peers[id]?.indices.contains(index) == true, "index \(index) points to peer \(id) that does not hold it")
        }
        for id in peers.ids {
            for index in peers[id]!.indices { precondition(indexTable[index] == id, "peer \(id) holds index \(index) not in the table") }
            precondition(peerIDs[peers[id]!.remote.publicKey] == id, "peer \(id) missing from the key table")
            // A timer that is armed fires: the peer is queued for that time or earlier.
            let timers = peers[id]!.timers
            precondition(timers.nextDeadline == 0 || (timers.scheduled != 0 && timers.scheduled <= timers.nextDeadline),
                         "peer \(id) has a timer at \(timers.nextDeadline) but is queued for \(timers.scheduled)")
            precondition(timers.scheduled == 0 || timerQueue.contains(.init(deadline: timers.scheduled, peer: id)),
                         "peer \(id) is not in the timer queue")
        }
        precondition(peerIDs.count == peers.count, "key table and peers disagree")
    }
}
