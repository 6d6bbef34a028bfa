/// A Curve25519 key as WireGuard writes it: 44 characters of base64 ending in `=`.
public struct WireGuardKey: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Accepts exactly what wg's key_from_base64 accepts: 43 base64 characters then `=`, with the
    /// two unused low bits of the last character zero (so every key has one spelling).
    public init?(base64 text: String) {
        let chars = Array(text.utf8)
        guard chars.count == 44, chars[43] == UInt8(ascii: "=") else { return nil }
        var values: [UInt8] = []
        values.reserveCapacity(43)
        for c in chars[0..<43] {
            guard let v = Self.decode(c) else { return nil }
            values.append(v)
        }
        guard values[42] & 0b11 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var acc: UInt32 = 0, bits = 0
        for v in values {
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xff))
            }
        }
        self.bytes = Array(out.prefix(32))
    }

    public var base64: String {
        var out = ""
        var acc: UInt32 = 0, bits = 0
        for b in bytes {
            acc = (acc << 8) | UInt32(b)
            bits += 8
            while bits >= 6 {
                bits -= 6
                out.append(Self.alphabet[Int((acc >> UInt32(bits)) & 0x3f)])
            }
        }
        out.append(Self.alphabet[Int((acc << UInt32(6 - bits)) & 0x3f)])
        return out + "="
    }

    public var description: String { base64 }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

    private static func decode(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
