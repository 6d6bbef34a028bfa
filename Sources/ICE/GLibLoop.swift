import CNice
import Foundation
import Synchronization

/// A GLib main loop running on its own thread. Every libnice call of an agent that can emit signals is made
/// on its loop's thread (through `run`), so the agent's callbacks arrive there too.
public final class GLibLoop: Sendable {
    /// Agents share a few loops rather than one: at every wake-up GLib polls every descriptor of its context,
    /// and every agent adds descriptors and wake-ups (timers, consent checks), so one loop for all costs
    /// peers² when idle (a 100-peer hub: 6.4% of a core, mostly `poll` and `g_main_context_check`).
    public static let poolSize = 8
    private static let pool = Mutex<(loops: [GLibLoop], next: Int)>(([], 0))

    /// The loop for a new agent: a new one until there are `poolSize`, then each in turn.
    public static func next() -> GLibLoop {
        pool.withLock { pool in
            if pool.loops.count < poolSize {
                pool.loops.append(GLibLoop())
                return pool.loops[pool.loops.count - 1]
            }
            pool.next = (pool.next + 1) % poolSize
            return pool.loops[pool.next]
        }
    }

    /// `GMainContext` is documented thread-safe (it has its own lock); the pointer never changes.
    struct Context: @unchecked Sendable { let raw: OpaquePointer }
    let context: Context

    public init() {
        let context = Context(raw: g_main_context_new()!)
        self.context = context
        let thread = Thread {
            // libnice's async operations (close_async) complete in the thread-default context.
            g_main_context_push_thread_default(context.raw)
            let loop = g_main_loop_new(context.raw, 0)
            g_main_loop_run(loop)
        }
        thread.name = "wg-ice-glib"
        thread.start()
    }

    /// Runs `body` on the loop thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            invoke { continuation.resume(with: Result { try body() }) }
        }
    }

    /// How many GLib sources are attached to the loop (diagnostics: a closed agent must leave none behind).
    /// Counting includes the source that runs the count itself.
    public func attachedSourceCount() async throws -> Int {
        try await run { [context] in
            // Source IDs are handed out in increasing order; a new source's ID bounds all existing ones.
            let probe = g_idle_source_new()!
            let bound = g_source_attach(probe, context.raw)
            g_source_destroy(probe)
            g_source_unref(probe)
            return (1..<bound).filter { g_main_context_find_source_by_id(context.raw, $0) != nil }.count
        }
    }

    /// Queues `body` to run on the loop thread (immediately if called from it).
    func invoke(_ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        g_main_context_invoke_full(context.raw, G_PRIORITY_DEFAULT, { data in
            Unmanaged<Job>.fromOpaque(data!).takeRetainedValue().body()
            return 0 // G_SOURCE_REMOVE
        }, job, nil)
    }

    /// Queues `body` to run on the loop thread once `milliseconds` have passed.
    func after(milliseconds: UInt32, _ body: @escaping @Sendable () -> Void) {
        attach(g_timeout_source_new(milliseconds)!, body)
    }

    /// Attaches `source` to run `body` once, then go.
    private func attach(_ source: UnsafeMutablePointer<GSource>, _ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        g_source_set_callback(source, { data in
            Unmanaged<Job>.fromOpaque(data!).takeRetainedValue().body()
            return 0 // G_SOURCE_REMOVE
        }, job, nil)
        g_source_attach(source, context.raw)
        g_source_unref(source)
    }

    /// `body` queued to run on the loop thread at its next iteration, after the sources that are ready now
    /// (which includes the rest of a socket's queued datagrams), as often as `fire()` is called: one GSource
    /// made once and made ready by its ready time, so firing allocates nothing (the proxy fires once per burst
    /// of datagrams; a new idle source each time cost three allocations). Detached when released.
    final class Wakeup: @unchecked Sendable {
        private let source: UnsafeMutablePointer<GSource>

        init(on loop: GLibLoop, _ body: @escaping @Sendable () -> Void) {
            source = g_source_new(Self.funcs, guint(MemoryLayout<GSource>.size))!
            g_source_set_priority(source, G_PRIORITY_DEFAULT)
            g_source_set_callback(source, { data in
                Unmanaged<Job>.fromOpaque(data!).takeUnretainedValue().body()
                return 1 // G_SOURCE_CONTINUE
            }, Unmanaged.passRetained(Job(body)).toOpaque(), { data in Unmanaged<Job>.fromOpaque(data!).release() })
            g_source_attach(source, loop.context.raw)
        }

        /// Thread-safe (GLib locks the context and wakes it).
        func fire() { g_source_set_ready_time(source, 0) }

        deinit {
            g_source_destroy(source)
            g_source_unref(source)
        }

        /// No prepare or check: GLib dispatches a source whose ready time has come; dispatch disarms it.
        nonisolated(unsafe) private static let funcs: UnsafeMutablePointer<GSourceFuncs> = {
            let funcs = UnsafeMutablePointer<GSourceFuncs>.allocate(capacity: 1)
            funcs.initialize(to: GSourceFuncs(prepare: nil, check: nil, dispatch: { source, callback, data in
                g_source_set_ready_time(source, -1)
                return callback?(data) ?? 0
            }, finalize: nil, closure_callback: nil, closure_marshal: nil))
            return funcs
        }()
    }

    private final class Job: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
