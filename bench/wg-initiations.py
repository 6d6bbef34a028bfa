#!/usr/bin/env python3
"""Valid WireGuard handshake initiations, written from the protocol (Noise_IKpsk2, wireguard.com/protocol),
sent at a steady rate to a responder that knows the initiators' keys; counts the handshake responses.

Usage: wg-initiations.py HOST PORT RESPONDER_PUBLIC_B64 RATE SECONDS < private keys (base64, one per line)
Prints: sent N responses M cookies K
The load generator for bench/wireguard.sh's handshake cost: libsodium through ctypes (X25519,
ChaCha20-Poly1305), BLAKE2s from hashlib; no WireGuard code of the project is used."""
import base64, ctypes, ctypes.util, hashlib, hmac, os, socket, struct, sys, time

sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert sodium.sodium_init() >= 0


def x25519(secret, public):
    out = ctypes.create_string_buffer(32)
    assert sodium.crypto_scalarmult_curve25519(out, secret, public) == 0
    return out.raw


def public_of(secret):
    out = ctypes.create_string_buffer(32)
    sodium.crypto_scalarmult_curve25519_base(out, secret)
    return out.raw


def aead(key, plaintext, ad):
    out = ctypes.create_string_buffer(len(plaintext) + 16)
    n = ctypes.c_ulonglong()
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, ctypes.byref(n), plaintext, ctypes.c_ulonglong(len(plaintext)),
                                                     ad, ctypes.c_ulonglong(len(ad)), None, bytes(12), key)
    return out.raw[:n.value]


def hash_(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def kdf(chaining, data, n):
    t0 = hmac.new(chaining, data, hashlib.blake2s).digest()
    out, previous = [], b""
    for i in range(1, n + 1):
        previous = hmac.new(t0, previous + bytes([i]), hashlib.blake2s).digest()
        out.append(previous)
    return out


def main():
    host, port, responder_b64, rate, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
    responder = base64.b64decode(responder_b64)
    initiators = [base64.b64decode(line.strip()) for line in sys.stdin if line.strip()]
    c0 = hash_(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
    h0 = hash_(hash_(c0, b"WireGuard v1 zx2c4 Jason@zx2c4.com"), responder)
    mac1_key = hash_(b"mac1----", responder)
    statics = [(public_of(s), x25519(s, responder)) for s in initiators]
    start_seconds = int(time.time())

    def initiation(i):
        static_public, static_dh = statics[i % len(statics)]
        e = os.urandom(32)
        e_public = public_of(e)
        c = kdf(c0, e_public, 1)[0]
        h = hash_(h0, e_public)
        c, k = kdf(c, x25519(e, responder), 2)
        encrypted_static = aead(k, static_public, h)
        h = hash_(h, encrypted_static)
        c, k = kdf(c, static_dh, 2)
        # TAI64N: each initiator's timestamps must grow; one nanosecond step per message is enough.
        timestamp = struct.pack(">QI", 0x400000000000000A + start_seconds, i // len(statics) + 1)
        encrypted_timestamp = aead(k, timestamp, h)
        body = struct.pack("<II", 1, i + 1) + e_public + encrypted_static + encrypted_timestamp
        return body + hashlib.blake2s(body, digest_size=16, key=mac1_key).digest() + bytes(16)

    count = int(rate * seconds)
    messages = [initiation(i) for i in range(count)]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setblocking(False)
    responses = cookies = 0

    def drain():
        nonlocal responses, cookies
        while True:
            try:
                data = sock.recv(256)
            except BlockingIOError:
                return
            if data[:1] == b"\x02":
                responses += 1
            elif data[:1] == b"\x03":
                cookies += 1

    begin = time.monotonic()
    for i, message in enumerate(messages):
        delay = begin + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sock.sendto(message, (host, port))
        drain()
    end = time.monotonic() + 1
    while time.monotonic() < end:
        drain()
        time.sleep(0.01)
    print(f"sent {count} responses {responses} cookies {cookies}")


main()
