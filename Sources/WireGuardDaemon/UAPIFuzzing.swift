/// The libFuzzer target for the UAPI socket: the input is what one client sent, handled as UAPIServer.serve does,
/// to its end, on a device as the daemon starts it (no key, no peers). `listen_port` binds real
/// sockets, so scripts/fuzz-wireguard runs this in a network namespace of its own.
public enum UAPIFuzzing {
    public static func run(_ input: UnsafeRawBufferPointer) {
        let device = KernelDevice(interfaceName: "fuzz", tun: TUN(fd: -1, name: "fuzz"), sockets: UDPSockets())
        defer { device.sockets.closeAll() }
        var stream = UAPIStream(), output = [UInt8]()
        stream.append(ArraySlice(input))
        let progress = stream.advance(device: device, now: FuzzDevice.start, atEOF: true, output: &output, outputLimit: .max,
                                      clock: { 0 }, deadline: 1)
        precondition(progress == .finished, "the stream did not end: \(progress)")
        let reply = String(decoding: output, as: UTF8.self)
        precondition(reply.isEmpty || (reply.hasSuffix("\n\n") && reply.contains("errno=")), "malformed reply \(reply)")
        device.checkConsistency()
        // What `get` prints is what a later `set` must accept (wg syncconf relies on it), to the same configuration.
        let again = KernelDevice(interfaceName: "fuzz", tun: TUN(fd: -1, name: "fuzz"), sockets: UDPSockets())
        let code = again.uapiSet(configuration(device), now: FuzzDevice.start)
        precondition(code == 0, "get output refused by set: errno \(code)")
        precondition(configuration(again) == configuration(device), "get, set, get changed the configuration")
    }

    /// The lines of `get` that are configuration: not the counters, not the port the sockets happen to have.
    private static func configuration(_ device: KernelDevice) -> [Substring] {
        device.uapiGet().split(separator: "\n").filter { line in
            !["last_handshake_time", "tx_bytes", "rx_bytes", "listen_port"].contains { line.hasPrefix($0) }
        }
    }

    /// Requests wg and wg-quick send, and some wireguard-go refuses.
    public static func seeds() -> [[UInt8]] {
        let key1 = String(repeating: "a8", count: 32), key2 = String(repeating: "b1", count: 32)
        let key3 = String(repeating: "c4", count: 32)
        return [
            "get=1\n\n",
            "set=1\nprivate_key=\(key1)\nlisten_port=0\nfwmark=0\nreplace_peers=true\npublic_key=\(key2)\n"
                + "preshared_key=\(key3)\nprotocol_version=1\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\n"
                + "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n\nget=1\n\n",
            "set=1\npublic_key=\(key2)\nendpoint=[2001:db8::1]:51820\nallowed_ip=0.0.0.0/0\nallowed_ip=-0.0.0.0/0\n\n",
            "set=1\npublic_key=\(key2)\nupdate_only=true\nallowed_ip=10.1.0.0/16\n\n",
            "set=1\npublic_key=\(key2)\nremove=true\n\n",
            "set=1\nprivate_key=\(key2)\npublic_key=\(key2)\nendpoint=[fe80::1%1]:1\n\n",
            "set=1\nlisten_port=70000\n\n",
            "set=1\npublic_key=\(key1)\nallowed_ip=10.0.0.0\n\n",
            "set=1\nbogus\n\nget=1\n\n",
            "get=2\n\n",
        ].map { Array($0.utf8) }
    }
}
