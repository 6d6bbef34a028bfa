import Addresses
@testable import WireGuardDaemon

/// A network of in-memory binds, like wireguard-go's conn/bindtest: what one device sends waits here until the
/// test delivers it, so a test decides the order in which messages arrive (or that they never do).
final class MemoryNetwork {
    struct Datagram {
        var bytes: [UInt8]
        var source: Endpoint
        var destination: Endpoint
    }

    var queue = [Datagram]()
    private var nextPort: UInt16 = 40_000

    func freePort() -> UInt16 {
        nextPort += 1
        return nextPort
    }

    /// Removes and returns what waits for any of `addresses` at `port`, oldest first.
    func take(for addresses: [IPAddress], port: UInt16) -> [Datagram] {
        let isMine = { (d: Datagram) in addresses.contains(d.destination.address) && d.destination.remote.port == port }
        let mine = queue.filter(isMine)
        queue.removeAll(where: isMine)
        return mine
    }
}

/// One device's sockets on a `MemoryNetwork`, at one or more addresses (the first is the one the kernel would
/// choose). A sticky source is honoured as the kernel does, and refused if it is not one of them.
struct MemoryBind: DatagramBind {
    let network: MemoryNetwork
    var addresses: [IPAddress]
    private(set) var port: UInt16 = 0
    private(set) var isOpen = false
    private(set) var fwmark: UInt32 = 0
    /// The interface the routes send to each destination by (the kernel's answer to `ip route get`).
    var routeInterfaces = [IPAddress: UInt32]()

    init(network: MemoryNetwork, address: String) {
        self.network = network
        addresses = [IPAddress(address)!]
    }

    mutating func bind(port requested: UInt16) -> Int32 {
        port = requested == 0 ? network.freePort() : requested
        isOpen = true
        return 0
    }

    mutating func setMark(_ mark: UInt32) -> Int32 {
        fwmark = mark
        return 0
    }

    mutating func closeAll() { isOpen = false }

    mutating func keep(port: UInt16) { self.port = port }

    func routeInterface(to remote: SocketAddress, from source: IPAddress) -> UInt32? { routeInterfaces[remote.address] }

    func send(_ message: UnsafeRawBufferPointer, to endpoint: inout Endpoint) -> Bool {
        guard isOpen else { return false }
        if let source = endpoint.source, !addresses.contains(source.address) { endpoint.source = nil }
        let from = endpoint.source?.address ?? addresses[0]
        network.queue.append(.init(bytes: Array(message), source: Endpoint(address: from, port: port),
                                   destination: Endpoint(endpoint.remote)))
        return true
    }
}

/// A TUN that records what the device writes; what the kernel would hand the device, a test injects.
final class MemoryTUN: TUNInterface {
    var written = [[UInt8]]()

    func write(_ packet: UnsafeRawBufferPointer) { written.append(Array(packet)) }
}
