/// The peers by id, an id being a slot: reads and writes through the subscript reach the peer in place, so the
/// data path neither copies a peer (its retains and releases) nor makes its replay window copy itself.
struct PeerTable {
    private var slots = [Peer?]()
    private var free = [Int]()
    private(set) var count = 0

    subscript(id: UInt32) -> Peer? {
        _read {
            if Int(id) < slots.count { yield slots[Int(id)] } else { yield nil }
        }
        _modify {
            if Int(id) < slots.count {
                yield &slots[Int(id)]
            } else {
                var none: Peer?
                yield &none
            }
        }
    }

    /// The ids in use, in ascending order.
    var ids: [UInt32] { slots.indices.filter { slots[$0] != nil }.map { UInt32($0) } }

    mutating func insert(_ peer: Peer) -> UInt32 {
        count += 1
        if let slot = free.popLast() {
            slots[slot] = peer
            return UInt32(slot)
        }
        slots.append(peer)
        return UInt32(slots.count - 1)
    }

    mutating func remove(_ id: UInt32) -> Peer? {
        guard let peer = self[id] else { return nil }
        slots[Int(id)] = nil
        free.append(Int(id))
        count -= 1
        return peer
    }
}
