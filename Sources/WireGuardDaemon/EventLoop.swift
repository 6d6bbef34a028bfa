import CTun
import Glibc

nonisolated(unsafe) private var stopSignal: Int32 = 0

/// One thread, one poll(2): the TUN, the UDP sockets, the UAPI socket and the peer timers.
public struct EventLoop {
    /// Packets handled per source and wakeup, so one busy source cannot starve the others.
    private static let batch = 64

    private let device: KernelDevice
    private var uapi: UAPIServer
    private var link: LinkMonitor
    /// Route changes in the birth namespace, where the sockets are (-1 if it could not be opened: sticky sources
    /// then stay until their address goes).
    private let routes: Int32

    /// Creates the TUN device, binds UDP and serves the UAPI socket: everything that can fail at start.
    public init(interface: String) throws(DaemonError) {
        let tun = try TUN(name: interface)
        var sockets = UDPSockets()
        let code = sockets.bind(port: 0)
        guard code == 0 else { throw .system("cannot bind UDP", code) }
        device = Device(interfaceName: interface, tun: tun, sockets: sockets)
        link = try LinkMonitor(interface: interface, tunFD: tun.fd)
        routes = wgd_route_monitor_open()
        uapi = try UAPIServer(interface: interface)
    }

    /// Runs until the interface is deleted or a SIGTERM/SIGINT; the UAPI socket is removed on the way out.
    public mutating func run() -> DaemonError? {
        for s in [SIGTERM, SIGINT, SIGHUP] { signal(s) { stopSignal = $0 } }
        signal(SIGPIPE, SIG_IGN)
        defer {
            uapi.remove()
            device.forgetKeys()
        }
        var fds = [pollfd]()
        var nextMTUCheck: UInt64 = 0
        while stopSignal == 0 {
            var now = Clock.now()
            if device.nextTimerDeadline != 0, now >= device.nextTimerDeadline { _ = device.runTimers(now: now) }
            // By name, in the birth namespace: once the interface moved elsewhere, that name is not (or no
            // longer) ours, and the last MTU seen stays.
            if now >= nextMTUCheck, !link.moved {
                device.mtu = device.tun.mtu ?? device.mtu
                nextMTUCheck = now + Clock.second
            }
            let wait = device.nextTimerDeadline == 0 ? Clock.second : min(Clock.second, device.nextTimerDeadline - min(now, device.nextTimerDeadline))
            fds.removeAll(keepingCapacity: true)
            // A TUN whose link went down polls as POLLERR with nothing to read: left out until it is up, or the
            // loop would spin (its deletion is then seen on the link monitor).
            for fd in [device.isDown ? -1 : device.tun.fd, device.sockets.fd4, device.sockets.fd6, link.fd, routes] where fd >= 0 {
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            }
            uapi.closeIdle(now: now)
            for (fd, events) in uapi.pollList(now: now) { fds.append(pollfd(fd: fd, events: events, revents: 0)) }
            // A client's request that yielded its time slice goes on after this round, without sleeping.
            let timeout = uapi.hasYielded ? 0 : Int32(wait / 1_000_000) + 1
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else {
                return .system("poll", errno)
            }
            now = Clock.now()
            for p in fds where p.revents != 0 {
                switch p.fd {
                case device.tun.fd:
                    do throws(DaemonError) { try readTUN(now: now) } catch .interfaceDeleted { return nil } catch { return error }
                case device.sockets.fd4, device.sockets.fd6: readUDP(p.fd, now: now)
                case link.fd: if !followLink(now: now) { return nil }
                case routes: if wgd_route_monitor_read(routes) == 1 { device.routesChanged() }
                case uapi.listenFD: uapi.accept(now: now)
                default: uapi.serve(p.fd, device: device, now: now)
                }
            }
            if uapi.hasYielded { uapi.resume(device: device, now: now) }
        }
        return nil
    }

    /// False once the interface is deleted.
    private mutating func followLink(now: UInt64) -> Bool {
        let (wentDown, isUp, deleted) = link.read()
        if deleted { return false }
        if wentDown { device.linkDown() }
        // Up fails only if the port was taken while the link was down: the device stays down (wireguard-go's Up
        // fails the same way) until the next up or `wg set listen-port`.
        if isUp { device.linkUp(now: now) }
        return true
    }

    private func readTUN(now: UInt64) throws(DaemonError) {
        let room = UnsafeMutableRawBufferPointer(rebasing: device.buffer[Layout.Transport.headerSize..<65_536])
        for _ in 0..<Self.batch {
            guard let n = try device.tun.read(into: room) else { return }
            device.routeFromTUN(length: n, now: now)
        }
    }

    private func readUDP(_ fd: Int32, now: UInt64) {
        for _ in 0..<Self.batch {
            guard let (count, source) = UDPSockets.receive(fd, into: device.buffer) else { return }
            device.receiveDatagram(count: count, from: source, now: now)
        }
    }
}
