/// The peers by id, an id being a slot. The subscript is an addressor, not a `_read`/`_modify` coroutine: a
/// coroutine whose frame outgrows the caller's fixed buffer is heap-allocated on every access (nine `malloc`s
/// per received packet, measured), and a copied peer would make its replay window copy itself.
/// The one table belongs to the device; the storage is a reference so that the addressors can hand out
/// stable pointers.
struct PeerTable {
    private final class Storage {
        /// `capacity` slots and, after them, one spare that reads as nil: where an id out of range points.
        var slots: UnsafeMutablePointer<Peer?>
        var capacity: Int

        init() {
            slots = .allocate(capacity: 1)
            slots.initialize(to: nil)
            capacity = 0
        }

        deinit {
            slots.deinitialize(count: capacity + 1)
            slots.deallocate()
        }

        func grow() {
            let bigger = max(8, capacity * 2)
            let moved = UnsafeMutablePointer<Peer?>.allocate(capacity: bigger + 1)
            moved.moveInitialize(from: slots, count: capacity)
            (moved + capacity).initialize(repeating: nil, count: bigger + 1 - capacity)
            (slots + capacity).deinitialize(count: 1)
            slots.deallocate()
            (slots, capacity) = (moved, bigger)
        }

        func slot(_ id: UInt32, used: Int) -> UnsafeMutablePointer<Peer?> {
            if Int(id) < used { return slots + Int(id) }
            // Nothing may stay in the spare: a write through an unknown id must not become a peer.
            slots[capacity] = nil
            return slots + capacity
        }
    }

    private let storage = Storage()
    /// Slots handed out so far; below it a slot is a peer or free.
    private var used = 0
    private var free = [Int]()
    private(set) var count = 0

    subscript(id: UInt32) -> Peer? {
        unsafeAddress { UnsafePointer(storage.slot(id, used: used)) }
        nonmutating unsafeMutableAddress { storage.slot(id, used: used) }
    }

    /// The ids in use, in ascending order.
    var ids: [UInt32] { (0..<used).filter { storage.slots[$0] != nil }.map { UInt32($0) } }

    /// The first id in use from `id` on, in ascending order (nil: none).
    func firstID(from id: UInt32) -> UInt32? {
        guard Int(id) < used else { return nil }
        return (Int(id)..<used).first { storage.slots[$0] != nil }.map { UInt32($0) }
    }

    mutating func insert(_ peer: Peer) -> UInt32 {
        count += 1
        if let slot = free.popLast() {
            storage.slots[slot] = peer
            return UInt32(slot)
        }
        if used == storage.capacity { storage.grow() }
        storage.slots[used] = peer
        used += 1
        return UInt32(used - 1)
    }

    mutating func remove(_ id: UInt32) -> Peer? {
        guard Int(id) < used, let peer = storage.slots[Int(id)] else { return nil }
        storage.slots[Int(id)] = nil
        free.append(Int(id))
        count -= 1
        return peer
    }
}
