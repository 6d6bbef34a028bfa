import Addresses

/// NAT-PMP (RFC 6886) messages: pure serialize/parse, UDP mappings only.
enum NATPMP {
    static let version: UInt8 = 0
    static let opExternalAddress: UInt8 = 0
    static let opMapUDP: UInt8 = 1

    /// Result codes (RFC 6886 §3.5).
    enum ResultCode: UInt16, Sendable {
        case success = 0, unsupportedVersion = 1, notAuthorized = 2, networkFailure = 3, outOfResources = 4,
             unsupportedOpcode = 5
    }

    struct MapRequest: Equatable {
        var internalPort: UInt16
        var suggestedExternalPort: UInt16
        /// Seconds; 0 deletes the mapping (RFC 6886 §3.4).
        var lifetime: UInt32

        /// 12 bytes: version, opcode, reserved, internal port, suggested external port, lifetime.
        func serialize() -> [UInt8] {
            var out: [UInt8] = [NATPMP.version, NATPMP.opMapUDP, 0, 0]
            out.put(internalPort)
            out.put(suggestedExternalPort)
            out.put(lifetime)
            return out
        }

        static func parse(_ bytes: [UInt8]) -> MapRequest? {
            let r = ByteReader(bytes)
            guard bytes.count == 12, r.u8(0) == NATPMP.version, r.u8(1) == NATPMP.opMapUDP,
                  let internalPort = r.u16(4), let suggested = r.u16(6), let lifetime = r.u32(8) else { return nil }
            return MapRequest(internalPort: internalPort, suggestedExternalPort: suggested, lifetime: lifetime)
        }
    }

    /// 2 bytes: version, opcode 0.
    static func externalAddressRequest() -> [UInt8] { [version, opExternalAddress] }

    /// Any response: the common header, then the opcode's fields when the result is a success.
    struct Response: Equatable {
        enum Body: Equatable {
            case externalAddress(IPAddress)
            case map(internalPort: UInt16, externalPort: UInt16, lifetime: UInt32)
        }
        var opcode: UInt8           // the request's opcode (the response carries it + 128)
        var resultCode: UInt16      // raw: a router may send codes this client does not know
        var epoch: UInt32
        var body: Body?             // nil unless resultCode is success

        func serialize() -> [UInt8] {
            var out: [UInt8] = [NATPMP.version, opcode | 0x80]
            out.put(resultCode)
            out.put(epoch)
            switch body {
            case .externalAddress(let address): out += address.bytes
            case .map(let internalPort, let externalPort, let lifetime):
                out.put(internalPort)
                out.put(externalPort)
                out.put(lifetime)
            case nil: break
            }
            return out
        }

        /// Nil for anything that is not a well-formed NAT-PMP response: wrong version, a request, an unknown
        /// opcode, a success too short for its fields. An error response needs only the 8-byte header.
        static func parse(_ bytes: [UInt8]) -> Response? {
            let r = ByteReader(bytes)
            guard let version = r.u8(0), version == NATPMP.version, let op = r.u8(1), op & 0x80 != 0,
                  let resultCode = r.u16(2), let epoch = r.u32(4) else { return nil }
            let opcode = op & 0x7f
            guard opcode == NATPMP.opExternalAddress || opcode == NATPMP.opMapUDP else { return nil }
            var response = Response(opcode: opcode, resultCode: resultCode, epoch: epoch, body: nil)
            guard resultCode == ResultCode.success.rawValue else { return response }
            if opcode == NATPMP.opExternalAddress {
                guard bytes.count >= 12, let raw = r.slice(8, 4), let address = IPAddress(bytes: raw) else { return nil }
                response.body = .externalAddress(address)
            } else {
                guard bytes.count >= 16, let internalPort = r.u16(8), let externalPort = r.u16(10),
                      let lifetime = r.u32(12) else { return nil }
                response.body = .map(internalPort: internalPort, externalPort: externalPort, lifetime: lifetime)
            }
            return response
        }
    }
}
