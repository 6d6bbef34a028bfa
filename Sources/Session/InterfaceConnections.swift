import Glibc
import WireGuard

/// The connections a session needs to its WireGuard interface, opened while the process is still root: a
/// wireguard-go UAPI socket is root's alone, so after the privilege drop nothing can be reopened. One carries
/// the session's reads and changes, the other the monitor's polling (each may block the other's thread).
/// The rtnetlink socket that reports address changes is opened here too, so every descriptor the session
/// needs exists before the drop.
public struct InterfaceConnections: Sendable {
    let command: any WireGuardControl
    let monitor: any WireGuardControl
    let interface: WireGuardInterface
    let networkChanges: NetworkChangeMonitor

    public init(interface name: String) throws(WireGuardError) {
        command = try WireGuard.open(name)
        do {
            monitor = try WireGuard.open(name)
        } catch {
            command.close()
            throw error
        }
        do {
            networkChanges = try NetworkChangeMonitor(ignoring: name)
        } catch {
            command.close()
            monitor.close()
            throw error
        }
        interface = WireGuardInterface(name: name, implementation: command is UAPIClient ? .userspace : .kernel)
        // The session's monitor, created after the drop, watches the UAPI directory (for a kernel interface
        // too) and would have to create it on a host where wireguard-go never ran: root's job, so now.
        mkdir(WireGuard.defaultSocketDirectory, 0o755)
    }
}
