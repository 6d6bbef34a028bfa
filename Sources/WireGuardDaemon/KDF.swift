/// HMAC-BLAKE2s (RFC 2104 with a 64-byte block) and the HKDF chain of the Noise protocol framework.
enum KDF {
    static func hmac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var block = key.count > 64 ? Blake2s.hash(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = Blake2s()
        inner.update(block.map { $0 ^ 0x36 })
        for part in parts { inner.update(part) }
        var outer = Blake2s()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(inner.finish())
        return outer.finish()
    }

    /// τ1…τn of HKDF(key, input): n is 1, 2 or 3 in WireGuard.
    static func derive(_ n: Int, key: [UInt8], input: [UInt8]) -> [[UInt8]] {
        let prk = hmac(key: key, input)
        var outputs = [[UInt8]]()
        var previous = [UInt8]()
        for i in 1...n {
            previous = hmac(key: prk, previous, [UInt8(i)])
            outputs.append(previous)
        }
        return outputs
    }
}
