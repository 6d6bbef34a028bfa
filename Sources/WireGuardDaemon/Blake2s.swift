import CBlake2
import CSodium

/// BLAKE2s (RFC 7693) from libb2: WireGuard's HASH (32 bytes) and MAC (keyed, 16 bytes).
struct Blake2s {
    private var state = blake2s_state()
    private let length: Int

    init(length: Int = 32, key: [UInt8] = []) {
        self.length = length
        if key.isEmpty {
            blake2s_init(&state, length)
        } else {
            blake2s_init_key(&state, length, key, key.count)
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        blake2s_update(&state, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        finish(into: &out)
        return out
    }

    /// Writes the digest to `out` (`length` bytes) and wipes the state, which held keyed or secret input.
    mutating func finish(into out: UnsafeMutablePointer<UInt8>) {
        blake2s_final(&state, out, length)
        withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress, $0.count) }
    }

    /// HASH(a || b) of the handshake, into a new `Secret`.
    static func hash(_ a: Secret, _ b: UnsafeRawBufferPointer) -> Secret {
        var h = Blake2s()
        h.update(a.raw)
        h.update(b)
        let out = Secret(count: 32)
        h.finish(into: out.bytes)
        return out
    }

    static func hash(_ parts: [UInt8]...) -> [UInt8] {
        var h = Blake2s()
        for part in parts { h.update(part) }
        return h.finish()
    }

    static func mac(key: [UInt8], _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var h = Blake2s(length: 16, key: key)
        h.update(bytes)
        return h.finish()
    }
}
