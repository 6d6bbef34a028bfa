/// The peers with an armed timer, earliest deadline first: a wakeup visits the peers that are due, not every
/// peer (10,000 idle peers cost nothing between their own deadlines). A binary min-heap of (deadline, peer).
/// A peer is queued at most once per deadline it was armed for; an entry whose peer has since been armed
/// earlier, disarmed or removed is stale and is skipped when it comes out (the device checks it against the
/// peer's `scheduled`), so entries never outnumber the arming events that made them.
struct TimerQueue {
    struct Entry: Equatable {
        var deadline: UInt64
        var peer: UInt32
    }

    private var heap = [Entry]()

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The earliest deadline queued (0: none).
    var earliest: UInt64 { heap.first?.deadline ?? 0 }

    mutating func push(_ deadline: UInt64, peer: UInt32) {
        heap.append(Entry(deadline: deadline, peer: peer))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest entry if it is due at `now`, removed from the queue.
    mutating func popDue(now: UInt64) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return first }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// For consistency checks: a linear search.
    func contains(_ entry: Entry) -> Bool { heap.contains(entry) }
}
