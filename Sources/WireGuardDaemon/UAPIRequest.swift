import Glibc

/// Splits a UAPI byte stream into requests, as wireguard-go's IpcHandle reads it.
enum UAPIRequest {
    /// The reply to the first complete request in `pending` and the bytes it used; nil while incomplete.
    /// A nil reply means the stream is not UAPI: the connection is closed. At the end of the stream (`atEOF`) a
    /// `set` ends there as at an empty line (wireguard-go applies it too).
    static func next<T, B>(_ pending: [UInt8], device: Device<T, B>, now: UInt64, atEOF: Bool = false)
        -> (reply: String?, used: Int)? {
        guard let newline = pending.firstIndex(of: 10) else { return nil }
        let op = pending[..<newline]
        if op.elementsEqual("get=1".utf8) {
            guard pending.count > newline + 1 else { return nil }
            guard pending[newline + 1] == 10 else { return (status(EINVAL), newline + 2) }
            return (device.uapiGet() + status(0), newline + 2)
        }
        guard op.elementsEqual("set=1".utf8) else { return (nil, pending.count) }
        // The request ends at the first empty line.
        var start = newline + 1, lines = [Substring]()
        while let end = pending[start...].firstIndex(of: 10) {
            if end == start {
                return (status(device.uapiSet(lines, now: now)), end + 1)
            }
            lines.append(Substring(String(decoding: pending[start..<end], as: UTF8.self)))
            start = end + 1
        }
        guard atEOF else { return nil }
        if start < pending.count { lines.append(Substring(String(decoding: pending[start...], as: UTF8.self))) }
        return (status(device.uapiSet(lines, now: now)), pending.count)
    }

    /// wireguard-go answers with the errno negated.
    static func status(_ code: Int32) -> String { "errno=\(code == 0 ? 0 : -code)\n\n" }
}
