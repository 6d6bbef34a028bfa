import Addresses

/// Where the device sends datagrams and which port it answers on: the kernel's UDP sockets (`UDPSockets`), or a
/// test's in-memory network. The device is generic over it, so the shipped daemon calls the sockets directly:
/// no witness table on the per-packet path. Receiving is the event loop's part, not the device's.
protocol DatagramBind {
    /// The port both families are bound to, or the one they will be bound to when they open again.
    var port: UInt16 { get }
    var isOpen: Bool { get }
    /// Opens on `port` (0: any free port); the old sockets close on success. Returns 0 or an errno.
    mutating func bind(port: UInt16) -> Int32
    mutating func setMark(_ mark: UInt32) -> Int32
    /// Closes the sockets but remembers the port, to open it again.
    mutating func closeAll()
    /// The port to open on next, set while closed.
    mutating func keep(port: UInt16)
    /// Sends from the endpoint's sticky source if it has one; if that address is no longer ours, clears it and
    /// sends from the one the kernel chooses.
    func send(_ message: UnsafeRawBufferPointer, to endpoint: inout Endpoint) -> Bool
    /// The interface an IPv4 datagram to `remote` from `source` would leave by now, or nil when the kernel
    /// cannot tell (the source no longer ours, no route: the send path deals with those).
    func routeInterface(to remote: SocketAddress, from source: IPAddress) -> UInt32?
}

/// Where decrypted packets go: the kernel's TUN device (`TUN`), or a test's recording one. Reading is the
/// event loop's part.
protocol TUNInterface {
    func write(_ packet: UnsafeRawBufferPointer)
}

/// The device as the daemon runs it.
typealias KernelDevice = Device<TUN, UDPSockets>
