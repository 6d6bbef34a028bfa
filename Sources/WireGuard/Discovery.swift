import CNetlink
import Glibc

/// A WireGuard interface and which implementation runs it.
public struct WireGuardInterface: Hashable, Sendable {
    public enum Implementation: Hashable, Sendable {
        /// A userspace daemon reachable through `DIR/NAME.sock`.
        case userspace
        /// A kernel link of kind "wireguard", controlled over generic netlink.
        case kernel
    }
    public var name: String
    public var implementation: Implementation

    public init(name: String, implementation: Implementation) {
        self.name = name
        self.implementation = implementation
    }

    /// Opens a control connection suited to the implementation.
    public func open(socketDirectory: String = WireGuard.defaultSocketDirectory) throws(WireGuardError) -> any WireGuardControl {
        switch implementation {
        case .userspace: try UAPIClient(interface: name, socketPath: "\(socketDirectory)/\(name).sock")
        case .kernel: try GenericNetlinkClient(interface: name)
        }
    }
}

extension WireGuard {
    /// All WireGuard interfaces visible from this thread's network namespace: kernel links of kind "wireguard"
    /// (rtnetlink RTM_GETLINK dump) and userspace ones with a connectable UAPI socket, sorted by name.
    /// UAPI sockets live in one directory for every namespace, so those may belong to other namespaces.
    public static func interfaces(socketDirectory: String = defaultSocketDirectory) throws(WireGuardError) -> [WireGuardInterface] {
        var found = try kernelInterfaces().map { WireGuardInterface(name: $0, implementation: .kernel) }
        found += userspaceInterfaces(socketDirectory: socketDirectory).map { WireGuardInterface(name: $0, implementation: .userspace) }
        return found.sorted { $0.name < $1.name }
    }

    /// Names of the WireGuard interfaces here, cheaply, for leaving them out (never for opening them): kernel
    /// links of kind "wireguard" and every `DIR/X.sock`, without connecting (a stale socket adds a name that
    /// no interface has).
    public static func interfaceNames(socketDirectory: String = defaultSocketDirectory) -> Set<String> {
        Set((try? kernelInterfaces()) ?? []).union(socketNames(socketDirectory))
    }

    static func kernelInterfaces() throws(WireGuardError) -> [String] {
        try LinkWatcher.list().filter { $0.kind == RTNL.wireguardKind }.map(\.name)
    }

    /// Names `X` of `DIR/X.sock` that accept a connection; a socket nobody listens on is stale (wg(8) ignores
    /// those too).
    static func userspaceInterfaces(socketDirectory: String) -> [String] {
        socketNames(socketDirectory).filter { name in
            guard let client = try? UAPIClient(interface: name, socketPath: "\(socketDirectory)/\(name).sock") else { return false }
            client.close()
            return true
        }
    }

    /// Names `X` of every `DIR/X.sock`, in directory order.
    private static func socketNames(_ socketDirectory: String) -> [String] {
        guard let dir = opendir(socketDirectory) else { return [] }
        defer { closedir(dir) }
        var names = [String]()
        while let entry = readdir(dir) {
            let file = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if file.hasSuffix(".sock") { names.append(String(file.dropLast(5))) }
        }
        return names
    }
}

/// rtnetlink link messages (<linux/rtnetlink.h>, <linux/if_link.h>).
enum RTNL {
    static let RTM_NEWLINK: UInt16 = 16, RTM_DELLINK: UInt16 = 17, RTM_GETLINK: UInt16 = 18
    static let RTMGRP_LINK: UInt32 = 1
    static let IFLA_IFNAME: UInt16 = 3, IFLA_LINKINFO: UInt16 = 18, IFLA_INFO_KIND: UInt16 = 1
    static let ifinfomsgLength = 16
    static let wireguardKind = "wireguard"

    struct Link: Equatable {
        var index: Int32
        var name: String
        var kind: String?
    }

    static func linkDumpRequest(sequence: UInt32) -> [UInt8] {
        // struct ifinfomsg, all zero: every family, every link.
        NetlinkWriter(type: RTM_GETLINK, flags: NL.NLM_F_REQUEST | NL.NLM_F_DUMP, sequence: sequence,
                      extraHeader: [UInt8](repeating: 0, count: ifinfomsgLength)).bytes
    }

    static func parseLink(_ message: NetlinkMessage) -> Link? {
        guard message.type == RTM_NEWLINK || message.type == RTM_DELLINK, message.payload.count >= ifinfomsgLength,
              let attributes = NetlinkAttribute.parse(message.payload.dropFirst(ifinfomsgLength)) else { return nil }
        let index = Int32(bitPattern: message.payload.readU32(at: message.payload.startIndex + 4))
        var name: String?, kind: String?
        for attribute in attributes {
            if attribute.type == IFLA_IFNAME { name = attribute.string }
            if attribute.type == IFLA_LINKINFO {
                kind = attribute.nested?.first { $0.type == IFLA_INFO_KIND }?.string
            }
        }
        guard let name else { return nil }
        return Link(index: index, name: name, kind: kind)
    }
}
