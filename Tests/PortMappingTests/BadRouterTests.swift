import Addresses
import Foundation
@testable import PortMapping
import Synchronization
import TestSupport
import Testing

/// A UDP socket on the router's port 5351 that answers every request as told, in the lab's router namespace.
final class ScriptedGateway: Sendable {
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)
    let requests = Mutex<Int>(0)

    init(in ns: NetNS, answer: @escaping @Sendable ([UInt8]) -> [UInt8]?) throws {
        fd = try ns.perform {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            let bound = SocketAddress(address: IPAddress(PortMapLab.routerLAN)!, port: 5351).withSockaddr { bind(fd, $0, $1) }
            guard bound == 0 else { throw Timeout(description: "bind 5351 in the router namespace: errno \(errno)") }
            return fd
        }
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 1500)
            while !stopped.load(ordering: .relaxed) {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 50) > 0 else { continue }
                var storage = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
                }
                guard n >= 0, let source = SocketAddress(&storage) else { continue }
                requests.withLock { $0 += 1 }
                guard let reply = answer(Array(buffer[0..<n])) else { continue }
                _ = reply.withUnsafeBytes { bytes in
                    source.withSockaddr { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
                }
            }
            close(fd)
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

/// Routers that answer badly: the mapper yields nil once, logs each cause once however often it retries, keeps
/// retrying, and stops cleanly.
@Suite(.tags(.integration), .serialized)
struct BadRouterTests {
    enum Misbehaviour: String, CaseIterable, Sendable { case garbage, refusal, lifetimeZero }

    static func answer(_ misbehaviour: Misbehaviour, to request: [UInt8]) -> [UInt8]? {
        switch misbehaviour {
        case .garbage:
            return request.map { $0 ^ 0x5a } + [0xff]
        case .refusal:
            if request.first == PCP.version {
                return PCP.Response(version: 2, opcode: request[1], resultCode: PCP.ResultCode.notAuthorized.rawValue,
                                    lifetime: 60, epoch: 5, map: nil).serialize()
            }
            return NATPMP.Response(opcode: request.count > 1 ? request[1] : 0, resultCode: 2, epoch: 5, body: nil).serialize()
        case .lifetimeZero:
            if let map = PCP.MapRequest.parse(request) {
                return PCP.Response(version: 2, opcode: PCP.opMap, resultCode: 0, lifetime: 0, epoch: 5,
                                    map: .init(nonce: map.nonce, internalPort: map.internalPort, externalPort: map.internalPort,
                                               externalAddress: IPAddress("5.6.7.8")!)).serialize()
            }
            if request == NATPMP.externalAddressRequest() {
                return NATPMP.Response(opcode: 0, resultCode: 0, epoch: 5, body: .externalAddress(IPAddress("5.6.7.8")!)).serialize()
            }
            if let map = NATPMP.MapRequest.parse(request) {
                return NATPMP.Response(opcode: 1, resultCode: 0, epoch: 5,
                                       body: .map(internalPort: map.internalPort, externalPort: map.internalPort, lifetime: 0)).serialize()
            }
            return nil
        }
    }

    @Test(arguments: Misbehaviour.allCases)
    func yieldsNilLogsOnceAndKeepsRetrying(misbehaviour: Misbehaviour) async throws {
        try await withPortMapLab(miniupnpd: false, client: ["--port", "5300", "--methods", "pcp,nat-pmp", "--retry", "0.3"]) {
            lab, client in
            let gateway = try ScriptedGateway(in: lab.router) { Self.answer(misbehaviour, to: $0) }
            defer { gateway.stop() }
            try await client.waitFor("mapping none", seconds: 30)
            let retriesFrom = gateway.requests.withLock { $0 }
            // Backoff from 0.3 s: several more attempts (within about 5 s; the wait allows for a stalled test process).
            try await waitUntil("retries", seconds: 30) { gateway.requests.withLock { $0 } >= retriesFrom + 3 }
            let lines = await client.log.lines
            #expect(lines.filter { $0 == "mapping none" }.count == 1, "\(lines)")
            #expect(!lines.contains { $0.hasPrefix("mapping ") && $0 != "mapping none" }, "\(lines)")
            var failureLines: [String] = []
            for line in lines where line.hasPrefix("log port mapping failed") { failureLines.append(line) }
            // One line per method and cause (PCP, and NAT-PMP when PCP got an answer), never one per retry.
            #expect(failureLines.count >= 1 && failureLines.count <= 2, "\(lines)")
            #expect(Set(failureLines).count == failureLines.count, "\(lines)")
            client.send("stop")
            try await client.waitFor("stopped ")
        }
    }
}
