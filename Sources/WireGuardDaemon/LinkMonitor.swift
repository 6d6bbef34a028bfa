import CTun
import Glibc

/// Follows the interface's administrative state (`ip link set up|down`) through rtnetlink, as wireguard-go
/// follows its TUN's events.
struct LinkMonitor {
    let fd: Int32
    private let index: Int32
    private var up: Int32

    init(interface: String) throws(DaemonError) {
        let index = Int32(bitPattern: if_nametoindex(interface))
        guard index > 0 else { throw .system("interface \(interface)", errno) }
        let fd = wgd_link_monitor_open()
        guard fd >= 0 else { throw .system("link monitor", -fd) }
        self.fd = fd
        self.index = index
        up = max(0, wgd_link_is_up(interface))
    }

    /// The changes since the last read: whether the link went from up to down on the way, whether it is up, and
    /// whether it was deleted.
    mutating func read() -> (wentDown: Bool, isUp: Bool, deleted: Bool) {
        var wentDown: Int32 = 0
        let result = wgd_link_monitor_read(fd, index, &up, &wentDown)
        return (wentDown != 0, up != 0, result == 1)
    }
}
