import Keys
import Foundation
import Logging
import Signaling
import Synchronization

// Load generator for bench/signal.sh: holds IDLE idle authenticated sessions on one signaling URL, then
// measures publish -> receive latency (sealing and opening included) of CLIENTS legitimate clients at a fixed
// aggregate message rate while they are held, then closes everything. With SERVER_PID set it also reports
// the server's memory before, while and after the sessions are held.
// Usage: signal-bench URL CLIENTS RATE SECONDS [IDLE [SOURCES]]

let args = CommandLine.arguments
guard (5...7).contains(args.count), let clients = Int(args[2]), let rate = Double(args[3]), let seconds = Double(args[4]),
      clients >= 2, rate > 0, let idle = Int(args.count > 5 ? args[5] : "0"), let sources = Int(args.count > 6 ? args[6] : "8"),
      idle >= 0, (1...250).contains(sources), let target = URL(string: args[1]), let host = target.host, let port = target.port else {
    FileHandle.standardError.write(Data("usage: signal-bench URL CLIENTS RATE SECONDS [IDLE [SOURCES]]\n".utf8))
    exit(2)
}
let url = args[1]
let server = ProcessInfo.processInfo.environment["SERVER_PID"].flatMap { Int32($0) }
raiseDescriptorLimit()
var options = SignalingOptions()
options.logger.logLevel = .error
options.queueCapacity = 4096

let clock = ContinuousClock()
_ = elapsedNanos()  // the origin of the timestamps

let before = server.map(Memory.init(pid:))
let descriptorsBefore = server.map(Memory.descriptors(pid:)) ?? 0
let benchBefore = Memory(pid: getpid())

// Idle sessions: the light client on WebSocket; on gRPC full clients (see bench/signal.sh for why fewer).
let idleSessions = url.hasPrefix("ws") ? IdleSessions(host: host, port: port, threads: 2) : nil
var idleChannels: [SignalingChannel] = []
let idleStart = clock.now
if let idleSessions {
    try await idleSessions.open(idle, sources: sources)
    let failed = idleSessions.failed.load(ordering: .relaxed)
    print("idle_held=\(idleSessions.held.load(ordering: .relaxed)) failed=\(failed) in=\(clock.now - idleStart)")
} else if idle > 0 {
    let (channels, ready) = try await connectClients(idle, url: url, options: options) { _, _ in }
    idleChannels = channels
    // `ready` counts connections, reconnects of a client too.
    print("idle_held=\(min(ready, idle)) connects=\(ready) in=\(clock.now - idleStart)")
}
let with = server.map(Memory.init(pid:))
let benchWith = Memory(pid: getpid())

// The legitimate exchange, while the idle sessions are held.
let latencies = Mutex<[Double]>([])
let drops = Mutex(0)
let (channels, ready) = try await connectClients(clients, url: url, options: options) { channel, envelope in
    switch channel.open(envelope) {
    case .success(let m):
        let sent = Int64(m.payload.candidate.sdp) ?? 0
        latencies.withLock { $0.append(Double(elapsedNanos() - sent) / 1e6) }
    case .failure: drops.withLock { $0 += 1 }
    }
}
guard ready == clients else {
    FileHandle.standardError.write(Data("only \(ready) of \(clients) clients connected\n".utf8))
    exit(1)
}
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
print("clients=\(clients) sent=\(total) received=\(sorted.count) dropped=\(drops.withLock { $0 }) rate=\(rate)/s")
print("latency_ms p50=\(pct(0.5)) p90=\(pct(0.9)) p99=\(pct(0.99)) max=\(pct(1.0))")
if let idleSessions, idleSessions.closed.load(ordering: .relaxed) > 0 {
    print("idle_closed_by_server=\(idleSessions.closed.load(ordering: .relaxed))")
}

for channel in channels + idleChannels { await channel.backend.close() }
await idleSessions?.closeAll()
if let server, let before, let with {
    // The server has let go of every session when its descriptors are back where they were; then give its
    // janitor a moment to hand freed memory back.
    let closeStart = clock.now
    while Memory.descriptors(pid: server) > descriptorsBefore, clock.now - closeStart < .seconds(120) {
        try await Task.sleep(for: .milliseconds(100))
    }
    let closedIn = clock.now - closeStart
    try await Task.sleep(for: .seconds(5))
    let after = Memory(pid: server)
    let n = max(idle, 1)
    print("server_rss_kb before=\(before.rssKB) with=\(with.rssKB) after=\(after.rssKB) closed_in=\(closedIn)")
    print("server_per_session_bytes=\((with.rssKB - before.rssKB) * 1024 / n) returned_kb=\(with.rssKB - after.rssKB) "
          + "kept_kb=\(after.rssKB - before.rssKB) heap_per_session_bytes=\((with.anonymousKB - before.anonymousKB) * 1024 / n)")
}
print("bench_per_idle_session_bytes=\((benchWith.rssKB - benchBefore.rssKB) * 1024 / max(idle, 1))")
try await idleSessions?.shutdown()
