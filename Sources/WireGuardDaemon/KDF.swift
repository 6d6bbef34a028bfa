/// HMAC-BLAKE2s (RFC 2104 with a 64-byte block) and the HKDF chain of the Noise protocol framework. Everything keyed
/// lives in `Secret`s (the padded key, the inner digest, the PRK, each output), wiped as they are dropped.
enum KDF {
    static func hmac(key: UnsafeRawBufferPointer, _ parts: UnsafeRawBufferPointer..., into out: UnsafeMutablePointer<UInt8>) {
        let pad = Secret(count: 64)
        if key.count > 64 {
            var h = Blake2s()
            h.update(key)
            h.finish(into: pad.bytes)
        } else if let base = key.baseAddress {
            UnsafeMutableRawPointer(pad.bytes).copyMemory(from: base, byteCount: key.count)
        }
        for i in 0..<64 { pad.bytes[i] ^= 0x36 }
        var inner = Blake2s()
        inner.update(pad.raw)
        for part in parts { inner.update(part) }
        let innerDigest = Secret(count: 32)
        inner.finish(into: innerDigest.bytes)
        for i in 0..<64 { pad.bytes[i] ^= 0x36 ^ 0x5c }
        var outer = Blake2s()
        outer.update(pad.raw)
        outer.update(innerDigest.raw)
        outer.finish(into: out)
    }

    static func hmac(key: [UInt8], _ part: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        key.withUnsafeBytes { k in part.withUnsafeBytes { hmac(key: k, $0, into: &out) } }
        return out
    }

    /// τ1…τn of HKDF(key, input): n is 1, 2 or 3 in WireGuard.
    static func derive(_ n: Int, key: Secret, input: UnsafeRawBufferPointer) -> [Secret] {
        let prk = Secret(count: 32)
        hmac(key: key.raw, input, into: prk.bytes)
        var outputs = [Secret]()
        for i in 1...n {
            let out = Secret(count: 32)
            withUnsafeBytes(of: UInt8(i)) { index in
                if let previous = outputs.last {
                    hmac(key: prk.raw, previous.raw, index, into: out.bytes)
                } else {
                    hmac(key: prk.raw, index, into: out.bytes)
                }
            }
            outputs.append(out)
        }
        return outputs
    }

    static func derive(_ n: Int, key: Secret, input: [UInt8]) -> [Secret] {
        input.withUnsafeBytes { derive(n, key: key, input: $0) }
    }

    static func derive(_ n: Int, key: Secret, input: Secret) -> [Secret] { derive(n, key: key, input: input.raw) }
}
