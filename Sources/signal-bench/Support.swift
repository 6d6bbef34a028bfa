import Keys
import Foundation
import Glibc
import Signaling
import Synchronization

/// A process's resident memory from /proc: VmRSS, and the anonymous (heap) part of it.
struct Memory {
    var rssKB = 0, anonymousKB = 0

    init(pid: Int32) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kb = Int(fields[1]) else { continue }
            if fields[0] == "VmRSS:" { rssKB = kb }
            if fields[0] == "RssAnon:" { anonymousKB = kb }
        }
    }

    static func descriptors(pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }
}

/// Soft descriptor limit up to the hard one: 100,000 sessions are 100,000 sockets here too.
func raiseDescriptorLimit() {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0 else { return }
    limit.rlim_cur = limit.rlim_max
    setrlimit(resource, &limit)
}

/// Starts `count` full clients and waits (up to 120 s) until they are subscribed; `onMessage` gets what each
/// receives. Returns the clients and how many subscribed.
func connectClients(_ count: Int, url: String, options: SignalingOptions,
                    onMessage: @escaping @Sendable (SignalingChannel, Envelope) -> Void) async throws -> ([SignalingChannel], Int) {
    let connected = Counter()
    var channels: [SignalingChannel] = []
    for _ in 0..<count {
        let key = PrivateKey.generate()
        let backend = try makeSignalingBackend(url: url, key: key, options: options)
        let channel = SignalingChannel(key: key, backend: backend)
        channels.append(channel)
        Task {
            for await event in backend.events {
                switch event {
                case .connected: connected.value.add(1, ordering: .relaxed)
                case .message(let envelope): onMessage(channel, envelope)
                default: break
                }
            }
        }
        backend.start()
    }
    let start = ContinuousClock.now
    while connected.value.load(ordering: .relaxed) < count, ContinuousClock.now - start < .seconds(120) {
        try await Task.sleep(for: .milliseconds(20))
    }
    return (channels, connected.value.load(ordering: .relaxed))
}

private let origin = ContinuousClock.now

/// Nanoseconds since the first call: the send time each message carries.
func elapsedNanos() -> Int64 {
    let d = origin.duration(to: .now)
    return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
