import Addresses
import Testing
@testable import WireGuardDaemon

/// Under load a valid mac2 is not enough: each source gets 20 handshakes a second, 5 at once.
@Suite struct HandshakeRateLimiterTests {
    let start = FuzzDevice.start
    let milliseconds = Clock.second / 1_000

    @Test func burstThenOneEvery50Milliseconds() {
        var limiter = HandshakeRateLimiter()
        let source = IPAddress("192.0.2.1")!
        let burst = (0..<8).map { _ in limiter.allow(source, now: start) }
        #expect(burst == [true, true, true, true, true, false, false, false])
        let refill = [49, 50, 51].map { limiter.allow(source, now: start + $0 * milliseconds) }
        #expect(refill == [false, true, false])
        // Tokens stop at the burst: two seconds of silence buy 5, not 40.
        let later = (0..<8).filter { _ in limiter.allow(source, now: start + 2 * Clock.second) }.count
        #expect(later == 5)
        let other = limiter.allow(IPAddress("192.0.2.2")!, now: start)
        #expect(other, "another address has its own share")
    }

    @Test func ipv6CountsPerSlash64() {
        var limiter = HandshakeRateLimiter()
        let hosts = (1...5).map { limiter.allow(IPAddress("2001:db8:1:2::\($0)")!, now: start) }
        let sameSlash64 = limiter.allow(IPAddress("2001:db8:1:2:ffff::1")!, now: start)
        let otherSlash64 = limiter.allow(IPAddress("2001:db8:1:3::1")!, now: start)
        #expect(hosts == [true, true, true, true, true])
        #expect(!sameSlash64)
        #expect(otherSlash64)
    }

    @Test func tableIsBoundedAndIdleSourcesGo() {
        var limiter = HandshakeRateLimiter()
        let filled = (0..<HandshakeRateLimiter.capacity).filter {
            limiter.allow(IPAddress(isIPv6: false, high: UInt64(0x0a00_0000 + $0) << 32, low: 0), now: start)
        }.count
        let whileFull = limiter.allow(IPAddress("192.0.2.1")!, now: start)
        let secondLater = limiter.allow(IPAddress("192.0.2.1")!, now: start + Clock.second)
        #expect(filled == HandshakeRateLimiter.capacity)
        #expect(!whileFull, "full of active sources: a new one waits")
        #expect(secondLater)
        #expect(limiter.count == 1, "idle sources were swept")
    }

    /// Through the device: a peer that took the cookie reply and comes back with mac2 is admitted five times,
    /// then refused, while the device is under load.
    @Test func deviceAdmitsMAC2WithinTheLimit() {
        let fixture = FuzzDevice()
        let device = fixture.make()
        device.load.record(start: start, cost: Clock.second)
        var message = Noise.createInitiation(local: fixture.peer, remote: fixture.deviceAtPeer, localIndex: FuzzDevice.peerIndex,
                                             timestamp: TAI64N.make(seconds: 1_700_000_000, nanoseconds: 0))!.message
        var jar = CookieJar()
        jar.stamp(&message, remote: fixture.deviceAtPeer, now: start)
        let admit = { (m: [UInt8]) in
            m.withUnsafeBytes { device.admitHandshake($0, sender: FuzzDevice.peerIndex, from: FuzzDevice.source, now: self.start) }
        }
        let withoutMAC2 = admit(message)
        #expect(!withoutMAC2, "no mac2 under load")
        let reply = message.withUnsafeBytes {
            device.cookieChecker.reply(to: $0, receiver: FuzzDevice.peerIndex, source: FuzzDevice.source.cookieSource,
                                       local: device.identity!, now: start)
        }
        let tookCookie = reply.withUnsafeBytes { jar.consume($0, remote: fixture.deviceAtPeer, now: start) }
        #expect(tookCookie)
        jar.stamp(&message, remote: fixture.deviceAtPeer, now: start)
        let admitted = (0..<8).map { _ in admit(message) }
        #expect(admitted == [true, true, true, true, true, false, false, false])
    }
}
