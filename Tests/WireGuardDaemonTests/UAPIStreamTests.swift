import Glibc
import Testing
@testable import WireGuardDaemon

/// A large request takes turns with the data path: it is applied and listed in time slices, read line by line.
@Suite struct UAPIStreamTests {
    static let peers = 1000

    /// `count` peers with four allowed IPs each, as `wg setconf` sends them.
    static func setRequest(peers count: Int) -> String {
        var request = "set=1\nreplace_peers=true\n"
        for i in 0..<count {
            request += "public_key=\(hex(X25519.publicKey(X25519.generatePrivate())))\nreplace_allowed_ips=true\n"
            for j in 0..<4 { request += "allowed_ip=10.\(i / 256).\(i % 256).\(j)/32\n" }
        }
        return request + "\n"
    }

    /// A clock that moves one tick per reading: a slice of `ticks` handles about that many lines.
    final class TickingClock: @unchecked Sendable {
        var ticks: UInt64 = 0
        func read() -> UInt64 {
            ticks += 1
            return ticks
        }
    }

    @Test func aLargeSetIsAppliedInTurns() {
        let device = DevicePair().alice
        var stream = UAPIStream(), output = [UInt8]()
        stream.append(ArraySlice(Self.setRequest(peers: Self.peers).utf8))
        let clock = TickingClock()
        var turns = 0, progress = UAPIStream.Progress.yielded
        while progress == .yielded {
            turns += 1
            progress = stream.advance(device: device, now: 0, atEOF: false, output: &output, outputLimit: .max,
                                      clock: clock.read, deadline: clock.ticks + 100)
            #expect(device.peers.count <= turns * 100, "a turn handled more than its slice")
        }
        #expect(progress == .waitingForInput)
        #expect(turns > Self.peers * 6 / 100)
        #expect(device.peers.count == Self.peers)
        #expect(device.allowedIPs.entries(peer: device.peers.ids[0]).count == 4)
        #expect(String(decoding: output, as: UTF8.self) == "errno=0\n\n")
    }

    @Test func aLargeGetIsWrittenInTurnsAndStopsForItsReader() {
        let device = DevicePair().alice
        #expect(device.uapiSet(Self.setRequest(peers: Self.peers).split(separator: "\n").dropFirst().map { $0 }, now: 0) == 0)
        let whole = device.uapiGet() + UAPIStream.status(0)
        var stream = UAPIStream(), output = [UInt8]()
        stream.append(ArraySlice("get=1\n\n".utf8))
        let clock = TickingClock()
        var turns = 0, progress = UAPIStream.Progress.yielded
        while progress == .yielded || progress == .waitingForReader {
            turns += 1
            // The reader takes what was written whenever the limit stops the writer.
            let limit = output.count + 64 << 10
            progress = stream.advance(device: device, now: 0, atEOF: false, output: &output, outputLimit: limit,
                                      clock: clock.read, deadline: clock.ticks + 10)
            #expect(output.count < limit + 1024, "the limit held to a peer's lines")
        }
        #expect(progress == .waitingForInput)
        #expect(turns > Self.peers / 10)
        #expect(String(decoding: output, as: UTF8.self) == whole)
    }

    /// What waits is one read, not the request: input is dropped as it is handled, and a line that never ends is
    /// not UAPI.
    @Test func inputIsHandledLineByLine() {
        let device = DevicePair().alice
        var stream = UAPIStream(), output = [UInt8]()
        let request = Self.setRequest(peers: 50)
        for line in request.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            stream.append(ArraySlice((line + "\n").utf8))
            _ = stream.advance(device: device, now: 0, atEOF: false, output: &output, outputLimit: .max, clock: { 0 }, deadline: 1)
            #expect(stream.unhandled == 0)
        }
        #expect(device.peers.count == 50)
        var endless = UAPIStream()
        endless.append(ArraySlice(("set=1\nfwmark=" + String(repeating: "1", count: UAPIStream.maxLine + 1)).utf8))
        #expect(endless.advance(device: device, now: 0, atEOF: false, output: &output, outputLimit: .max,
                                clock: { 0 }, deadline: 1) == .finished)
    }
}

extension UAPIStreamTests {
    /// wireguard-go reads one byte after `get=1\n`: anything but the empty line's newline is EINVAL at once, not
    /// after a line that may never end (tests/wireguard-interop.sh's `get=1\nx` waited for its 3 s timeout).
    @Test func aGetWithATrailingByteIsRefusedAtOnce() {
        let device = DevicePair().alice
        var stream = UAPIStream(), output = [UInt8]()
        stream.append(ArraySlice("get=1\nx".utf8))
        #expect(stream.advance(device: device, now: 0, atEOF: false, output: &output, outputLimit: .max,
                               clock: { 0 }, deadline: 1) == .finished)
        #expect(String(decoding: output, as: UTF8.self) == "errno=-22\n\n")
    }
}
