import CTun
import Glibc

/// The layer-3 TUN device the kernel routes the interface's packets through.
struct TUN: TUNInterface {
    /// wireguard-go's default: 1500 minus the largest WireGuard overhead (IPv6 80 bytes).
    static let defaultMTU = 1420

    let fd: Int32
    let name: String

    init(name: String) throws(DaemonError) {
        let fd = wgd_tun_open(name)
        guard fd >= 0 else { throw .system("cannot create TUN device \(name)", -fd) }
        self.fd = fd
        self.name = name
        _ = wgd_set_mtu(name, Int32(Self.defaultMTU))
    }

    var mtu: Int? {
        let m = wgd_get_mtu(name)
        return m > 0 ? Int(m) : nil
    }

    /// One packet into `buffer`; nil when none is waiting. Throws once the interface is gone.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DaemonError) -> Int? {
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n >= 0 { return n }
        if errno == EAGAIN || errno == EINTR { return nil }
        // The kernel detaches the file from a deleted link and answers every read with EBADFD.
        if errno == EBADFD { throw .interfaceDeleted }
        throw .system("TUN device \(name) read", errno)
    }

    /// Drops the packet if the kernel queue is full, as a router does.
    func write(_ packet: UnsafeRawBufferPointer) {
        _ = Glibc.write(fd, packet.baseAddress, packet.count)
    }
}
