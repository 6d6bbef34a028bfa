import Keys
import Foundation
import Logging
import Signaling
import Synchronization

// Load generator for bench/signal.sh: holds N authenticated clients on one signaling URL and measures
// publish -> receive latency (sealing and opening included) at a fixed aggregate message rate.
// Usage: signal-bench URL CLIENTS RATE SECONDS

let args = CommandLine.arguments
guard args.count == 5, let clients = Int(args[2]), let rate = Double(args[3]), let seconds = Double(args[4]), clients >= 2, rate > 0 else {
    FileHandle.standardError.write(Data("usage: signal-bench URL CLIENTS RATE SECONDS\n".utf8))
    exit(2)
}
let url = args[1]
var options = SignalingOptions()
options.logger.logLevel = .error
options.queueCapacity = 4096

let latencies = Mutex<[Double]>([])
let connected = Mutex(0)
let drops = Mutex(0)
let clock = ContinuousClock()
let origin = clock.now

func elapsedNanos() -> Int64 {
    let d = origin.duration(to: clock.now)
    return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
}

var channels: [SignalingChannel] = []
var pumps: [Task<Void, Never>] = []
for _ in 0..<clients {
    let key = PrivateKey.generate()
    let backend = try makeSignalingBackend(url: url, key: key, options: options)
    let channel = SignalingChannel(key: key, backend: backend)
    channels.append(channel)
    pumps.append(Task {
        for await event in backend.events {
            switch event {
            case .connected: connected.withLock { $0 += 1 }
            case .message(let envelope):
                switch channel.open(envelope) {
                case .success(let m):
                    let sent = Int64(m.payload.candidate.sdp) ?? 0
                    latencies.withLock { $0.append(Double(elapsedNanos() - sent) / 1e6) }
                case .failure: drops.withLock { $0 += 1 }
                }
            default: break
            }
        }
    })
    backend.start()
}

let connectStart = clock.now
while connected.withLock({ $0 }) < clients {
    guard clock.now - connectStart < .seconds(120) else {
        FileHandle.standardError.write(Data("only \(connected.withLock { $0 }) of \(clients) clients connected\n".utf8))
        exit(1)
    }
    try await Task.sleep(for: .milliseconds(20))
}
let connectTime = clock.now - connectStart

let total = Int(rate * seconds)
let interval = Duration.seconds(1 / rate)
var next = clock.now
for i in 0..<total {
    let from = i % clients, to = (i * 7 + 1) % clients == from ? (from + 1) % clients : (i * 7 + 1) % clients
    try await channels[from].send(.candidate(Candidate.with { $0.sdp = String(elapsedNanos()) }), to: channels[to].backend.identity)
    next = next.advanced(by: interval)
    try await Task.sleep(until: next, clock: clock)
}
let drainStart = clock.now
while latencies.withLock({ $0.count }) < total, clock.now - drainStart < .seconds(10) {
    try await Task.sleep(for: .milliseconds(20))
}

let sorted = latencies.withLock { $0 }.sorted()
func pct(_ p: Double) -> String {
    guard !sorted.isEmpty else { return "n/a" }
    return String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
}
print("clients=\(clients) connected_in=\(connectTime) sent=\(total) received=\(sorted.count) dropped=\(drops.withLock { $0 }) rate=\(rate)/s")
print("latency_ms p50=\(pct(0.5)) p90=\(pct(0.9)) p99=\(pct(0.99)) max=\(pct(1.0))")
for channel in channels { await channel.backend.close() }
for pump in pumps { await pump.value }
