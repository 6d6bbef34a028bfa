import Keys
import CSodium

/// libsodium's crypto_box (X25519 + XSalsa20-Poly1305), the only primitive the protocol uses.
public enum Box {
    public static let nonceLength = Int(crypto_box_NONCEBYTES)  // 24
    public static let macLength = Int(crypto_box_MACBYTES)      // 16

    /// crypto_box_easy: MAC (16 bytes) followed by the encrypted message.
    public static func seal(_ message: [UInt8], nonce: [UInt8], to recipient: Key, from sender: PrivateKey) -> [UInt8] {
        _ = sodiumReady
        precondition(nonce.count == nonceLength)
        var out = [UInt8](repeating: 0, count: message.count + macLength)
        let rc = crypto_box_easy(&out, message, UInt64(message.count), nonce, recipient.bytes, sender.secret.bytes)
        precondition(rc == 0, "crypto_box_easy failed")
        return out
    }

    /// crypto_box_open_easy; nil when the MAC does not verify (tampered, wrong key, wrong nonce).
    public static func open(_ box: [UInt8], nonce: [UInt8], from sender: Key, to recipient: PrivateKey) -> [UInt8]? {
        _ = sodiumReady
        guard nonce.count == nonceLength, box.count >= macLength else { return nil }
        var out = [UInt8](repeating: 0, count: box.count - macLength)
        let rc = crypto_box_open_easy(&out, box, UInt64(box.count), nonce, sender.bytes, recipient.secret.bytes)
        return rc == 0 ? out : nil
    }
}
