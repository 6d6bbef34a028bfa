import Testing
@testable import WireGuardDaemon

/// The primitives against published vectors, the constructions on top against Python's hashlib/hmac.
@Suite struct CryptoVectorTests {
    @Test func blake2s() {
        // RFC 7693 appendix B.
        #expect(hex(Blake2s.hash(Array("abc".utf8))) == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
        // Keyed, 16 bytes: hashlib.blake2s(b'abc', key=bytes(range(32)), digest_size=16).
        let mac = Array("abc".utf8).withUnsafeBytes { Blake2s.mac(key: Array(0..<32), $0) }
        #expect(hex(mac) == "61ba5f165c194692e09d12520cc4c74a")
        // The Noise construction's initial chaining key, as every WireGuard implementation has it.
        #expect(hex(Protocol.initialChainKey) == "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36")
    }

    @Test func hmacAndHKDF() {
        // hmac.new(key, msg, hashlib.blake2s).
        #expect(hex(KDF.hmac(key: Array("key".utf8), Array("The quick brown fox jumps over the lazy dog".utf8)))
            == "f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0")
        #expect(hex(KDF.hmac(key: Array(0..<100), Array("x".utf8)))
            == "7c5a4a1c1150b1eadcba56974986fd860c4aca9cd69fa0c65c9f67dadad9883a")
        let out = KDF.derive(3, key: Secret(Array(0..<32)), input: Array(32..<64)).map { hex($0.array) }
        #expect(out == ["6a96444e20e8d4c1cee974416acae1c10b3c92886010e54ed94dafb2c3b80ea0",
                        "57af120b0de7acbe7907ec149c5ae870a2dbb74232b65777ba4123f1f7f888f5",
                        "0926c7caabb6e8d73beda759e6f4f0d324ce5b5000bcf8cd784b26db3049faa9"])
        #expect(KDF.derive(1, key: Secret(Array(0..<32)), input: Array(32..<64)).map { hex($0.array) } == [out[0]])
    }

    @Test func x25519() {
        // RFC 7748 section 6.1.
        let alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        let bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
        #expect(hex(X25519.publicKey(alice)) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(hex(X25519.publicKey(bob)) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        #expect(X25519.sharedSecret(Secret(alice), X25519.publicKey(bob)).map { hex($0.array) } == shared)
        #expect(X25519.sharedSecret(Secret(bob), X25519.publicKey(alice)).map { hex($0.array) } == shared)
        // A low-order point gives an all-zero secret, which must be refused.
        #expect(X25519.sharedSecret(Secret(alice), [UInt8](repeating: 0, count: 32)) == nil)
    }

    @Test func chacha20Poly1305() {
        // RFC 8439 appendix A.5: its nonce is 32 zero bits and a 64-bit little-endian counter, WireGuard's form.
        let key = Secret(hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"))
        let sealed = hex("""
            64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100
            d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b350638
            3606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa115
            5b0047718cbc546a0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
            49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709beead9d67890cbb22392336fea1851f38
            """)
        let ad = Secret(hex("f33388860000000000004e91"))
        let plain = AEAD.open(key: key, counter: 0x0807_0605_0403_0201, sealed, ad: ad)
        #expect(plain.map { String(decoding: $0.prefix(26), as: UTF8.self) } == "Internet-Drafts are draft ")
        #expect(plain.map { AEAD.seal(key: key, counter: 0x0807_0605_0403_0201, $0, ad: ad) } == sealed)
        #expect(AEAD.open(key: key, counter: 0x0807_0605_0403_0202, sealed, ad: ad) == nil)
        var tampered = sealed
        tampered[3] ^= 1
        #expect(AEAD.open(key: key, counter: 0x0807_0605_0403_0201, tampered, ad: ad) == nil)
    }

    @Test func xchacha20Poly1305() {
        // draft-irtf-cfrg-xchacha-03 appendix A.3.1.
        let key = Array(UInt8(0x80)...0x9f), nonce = Array(UInt8(0x40)...0x57), ad = hex("50515253c0c1c2c3c4c5c6c7")
        let plain = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let sealed = AEAD.xseal(key: key, nonce: nonce, plain, ad: ad)
        #expect(hex(sealed) == """
            bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216\
            cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13\
            b52ec0875924c1c7987947deafd8780acf49
            """)
        #expect(AEAD.xopen(key: key, nonce: nonce, sealed, ad: ad) == plain)
        #expect(AEAD.xopen(key: key, nonce: nonce, sealed, ad: []) == nil)
    }
}
