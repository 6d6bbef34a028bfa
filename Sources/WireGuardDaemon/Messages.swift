/// Byte layouts of the four message types (whitepaper section 5.4). All integers are little-endian.
enum MessageType: UInt8 {
    case initiation = 1, response = 2, cookieReply = 3, transport = 4
}

enum Layout {
    enum Initiation {
        static let size = 148
        static let sender = 4, ephemeral = 8, encryptedStatic = 40, encryptedTimestamp = 88, mac1 = 116, mac2 = 132
    }

    enum Response {
        static let size = 92
        static let sender = 4, receiver = 8, ephemeral = 12, encryptedNothing = 44, mac1 = 60, mac2 = 76
    }

    enum CookieReply {
        static let size = 64
        static let receiver = 4, nonce = 8, encryptedCookie = 32
    }

    enum Transport {
        static let headerSize = 16
        static let receiver = 4, counter = 8
        static let minimumSize = headerSize + AEAD.tagSize
    }
}

extension UnsafeRawBufferPointer {
    func le32(at offset: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    func le64(at offset: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    func bytes(_ offset: Int, _ count: Int) -> [UInt8] { Array(self[offset..<(offset + count)]) }
}

extension UnsafeMutableRawBufferPointer {
    func storeLE32(_ value: UInt32, at offset: Int) { storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
    func storeLE64(_ value: UInt64, at offset: Int) { storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
    func store(_ bytes: [UInt8], at offset: Int) {
        for (i, b) in bytes.enumerated() { self[offset + i] = b }
    }
}

extension Array where Element == UInt8 {
    /// A message of `size` zero bytes but its type.
    static func message(_ type: MessageType, size: Int) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: size)
        m[0] = type.rawValue
        return m
    }
}
