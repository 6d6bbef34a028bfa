// ice-bench: two ICE agents in this process over loopback; prints connect times and datagram throughput.
// Run through bench/ice.sh. Usage: ice-bench [RUNS] [SECONDS] [DATAGRAM_SIZE]
import Foundation
import ICE
import Synchronization

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let runs = arguments.count > 0 ? arguments[0] : 20
let seconds = arguments.count > 1 ? arguments[1] : 3
let size = arguments.count > 2 ? arguments[2] : 1200
let configuration = try ICEConfiguration(networkTypes: [.udp4], interfaces: ["lo"])

/// Forwards what the signaling would carry from one agent to the other.
func signal(_ from: ICEAgent, to: ICEAgent) -> Task<Void, Never> {
    Task {
        for await event in from.events {
            switch event {
            case .localCandidate(let c): _ = try? await to.addRemoteCandidate(c.sdp)
            case .gatheringDone: try? await to.remoteGatheringDone()
            case .restarted(let credentials, let answering): try? await to.setRemoteCredentials(credentials, answer: answering)
            default: break
            }
        }
    }
}

func connectedPair() async throws -> (ICEAgent, ICEAgent, [Task<Void, Never>], Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let a = try await ICEAgent(configuration: configuration, role: .controlling)
    let b = try await ICEAgent(configuration: configuration, role: .controlled)
    let tasks = [signal(a, to: b), signal(b, to: a)]
    try await b.setRemoteCredentials(a.localCredentials())
    try await a.setRemoteCredentials(b.localCredentials())
    while a.selectedPair == nil || b.selectedPair == nil {
        try await Task.sleep(for: .microseconds(200))
        if clock.now - start > .seconds(10) { throw ICEError.libnice("no pair after 10 s") }
    }
    return (a, b, tasks, clock.now - start)
}

func close(_ a: ICEAgent, _ b: ICEAgent, _ tasks: [Task<Void, Never>]) async {
    await a.close()
    await b.close()
    for t in tasks { await t.value }
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

var times: [Double] = []
for _ in 0..<runs {
    let (a, b, tasks, elapsed) = try await connectedPair()
    times.append(milliseconds(elapsed))
    await close(a, b, tasks)
}
times.sort()
print(String(format: "connect: runs=%d median=%.1f ms p90=%.1f ms min=%.1f ms max=%.1f ms",
             runs, times[runs / 2], times[min(runs - 1, runs * 9 / 10)], times[0], times[runs - 1]))

/// A sends as fast as the socket accepts for `seconds`; B counts what arrives, either through the
/// `datagrams` stream (one copy per datagram) or the zero-copy receive handler.
func throughput(handler: Bool) async throws {
    let (a, b, tasks, _) = try await connectedPair()
    let received = Atomic<Int>(0)
    let counter: Task<Void, Never>
    if handler {
        b.setReceiveHandler { _ in received.add(1, ordering: .relaxed) }
        counter = Task {}
    } else {
        counter = Task.detached { for await _ in b.datagrams { received.add(1, ordering: .relaxed) } }
    }
    let payload = [UInt8](repeating: 0x5a, count: size)
    let clock = ContinuousClock()
    let start = clock.now
    var sent = 0, refused = 0
    while clock.now - start < .seconds(seconds) {
        if a.send(payload) { sent += 1 } else { refused += 1 }
    }
    try await Task.sleep(for: .milliseconds(300))
    await close(a, b, tasks)
    await counter.value
    let count = received.load(ordering: .relaxed), elapsed = Double(seconds)
    print(String(format: "throughput (%@): size=%d B sent=%.0f/s refused(EAGAIN)=%d received=%.0f/s = %.1f Mbit/s, loss %.1f%%",
                 handler ? "receive handler" : "datagrams stream", size, Double(sent) / elapsed, refused,
                 Double(count) / elapsed, Double(count * size) * 8 / elapsed / 1e6,
                 sent > 0 ? 100 * Double(sent - count) / Double(sent) : 0))
}

try await throughput(handler: false)
try await throughput(handler: true)
