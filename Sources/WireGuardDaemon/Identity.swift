/// Our static key pair and what is derived from it once.
struct LocalIdentity {
    /// Wiped when the key is changed or cleared and at exit: the device holds the only reference.
    let privateKey: Secret
    let publicKey: [UInt8]
    /// Key of the mac1 on messages sent to us.
    let mac1Key: [UInt8]
    /// Key that encrypts the cookies we send.
    let cookieKey: [UInt8]

    init(privateKey: Secret) {
        self.privateKey = privateKey
        publicKey = X25519.publicKey(privateKey)
        mac1Key = Blake2s.hash(Protocol.labelMAC1, publicKey)
        cookieKey = Blake2s.hash(Protocol.labelCookie, publicKey)
    }

    init(privateKey: [UInt8]) { self.init(privateKey: Secret(privateKey)) }
}

/// A peer's static key and what is derived from it and our key.
struct RemoteIdentity {
    let publicKey: [UInt8]
    /// DH(our static, their static); nil without a private key or for a low-order public key.
    let staticShared: Secret?
    /// Key of the mac1 on messages we send to them.
    let mac1Key: [UInt8]
    /// Key that decrypts the cookies they send us.
    let cookieKey: [UInt8]

    init(publicKey: [UInt8], local: LocalIdentity?) {
        self.publicKey = publicKey
        staticShared = local.flatMap { X25519.sharedSecret($0.privateKey, publicKey) }
        mac1Key = Blake2s.hash(Protocol.labelMAC1, publicKey)
        cookieKey = Blake2s.hash(Protocol.labelCookie, publicKey)
    }
}
