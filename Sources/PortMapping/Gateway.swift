import Addresses
#if canImport(Glibc)
import Glibc
#endif

/// The IPv4 default route's gateway, where PCP/NAT-PMP requests go.
public enum DefaultGateway {
    /// Reads the calling thread's network namespace's routes (`/proc/thread-self`, not `/proc/self`, which is the
    /// main thread's namespace).
    public static func current() -> IPAddress? {
        guard let text = readFile("/proc/thread-self/net/route") ?? readFile("/proc/net/route") else { return nil }
        return parse(routeTable: text)
    }

    /// The gateway of the default route with the lowest metric in `/proc/net/route` text (addresses in host-order
    /// hex of network-order bytes, so little-endian on every Linux this runs on). Nil when there is none.
    static func parse(routeTable text: String) -> IPAddress? {
        var best: (metric: UInt32, gateway: IPAddress)?
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 8, f[1] == "00000000", f[7] == "00000000", let gateway = UInt32(f[2], radix: 16),
                  gateway != 0, let flags = UInt16(f[3], radix: 16), flags & 0x3 == 0x3,  // RTF_UP | RTF_GATEWAY
                  let metric = UInt32(f[6]) else { continue }
            let address = IPAddress(isIPv6: false, high: UInt64(gateway.byteSwapped) << 32, low: 0)
            if best == nil || metric < best!.metric { best = (metric, address) }
        }
        return best?.gateway
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
