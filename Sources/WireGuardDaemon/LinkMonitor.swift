import CTun
import Glibc

/// Follows the interface's administrative state (`ip link set up|down`) through rtnetlink, as wireguard-go
/// follows its TUN's events.
///
/// The netlink socket sees only the namespace the daemon started in. An interface moved to another namespace
/// (`ip link set IFACE netns NS`, as the kernel's netns selftest and wireguard.com/netns do: the sockets stay in
/// the birth namespace, the interface lives elsewhere) leaves it with the same RTM_DELLINK a deletion sends;
/// the TUN file tells them apart, since the kernel detaches it only from a deleted link. From then on this
/// namespace says nothing about the interface (its index may even be reused here), so the monitor stops
/// listening and the device runs as if up from then on, as wireguard-go's does (the move itself sets the link
/// down, and its `up` in the new namespace cannot be seen from here); deletion is then seen on the TUN (EBADFD).
struct LinkMonitor {
    private(set) var fd: Int32
    private let index: Int32
    private let tunFD: Int32
    private var up: Int32

    init(interface: String, tunFD: Int32) throws(DaemonError) {
        let index = Int32(bitPattern: if_nametoindex(interface))
        guard index > 0 else { throw .system("interface \(interface)", errno) }
        let fd = wgd_link_monitor_open()
        guard fd >= 0 else { throw .system("link monitor", -fd) }
        self.fd = fd
        self.index = index
        self.tunFD = tunFD
        up = max(0, wgd_link_is_up(interface))
    }

    /// The changes since the last read: whether the link went from up to down on the way, whether it is up, and
    /// whether it was deleted. A move to another namespace reads as up, and closes the monitor (`fd` is -1).
    mutating func read() -> (wentDown: Bool, isUp: Bool, deleted: Bool) {
        var wentDown: Int32 = 0
        let result = wgd_link_monitor_read(fd, index, &up, &wentDown)
        guard result == 1 else { return (wentDown != 0, up != 0, false) }
        guard wgd_tun_attached(tunFD) == 1 else { return (wentDown != 0, up != 0, true) }
        close(fd)
        fd = -1
        up = 1
        return (false, true, false)
    }

    /// The interface left the daemon's namespace without being deleted.
    var moved: Bool { fd < 0 }
}
