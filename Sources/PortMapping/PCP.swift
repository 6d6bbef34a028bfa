import Addresses

/// PCP (RFC 6887) messages: the MAP opcode for UDP and ANNOUNCE (the epoch probe); pure serialize/parse.
enum PCP {
    static let version: UInt8 = 2
    static let opAnnounce: UInt8 = 0
    static let opMap: UInt8 = 1
    static let protocolUDP: UInt8 = 17
    static let headerSize = 24
    static let mapDataSize = 36
    /// RFC 6887 §7: a PCP message is at most 1100 bytes and a multiple of 4.
    static let maximumSize = 1100

    /// Result codes (RFC 6887 §7.4).
    enum ResultCode: UInt8, Sendable {
        case success = 0, unsuppVersion, notAuthorized, malformedRequest, unsuppOpcode, unsuppOption, malformedOption,
             networkFailure, noResources, unsuppProtocol, userExQuota, cannotProvideExternal, addressMismatch,
             excessiveRemotePeers
    }

    struct MapRequest: Equatable {
        var nonce: [UInt8]                 // 12 bytes
        var lifetime: UInt32               // 0 deletes
        var client: IPAddress              // must be the source address the server sees
        var internalPort: UInt16
        var suggestedExternalPort: UInt16
        var suggestedExternalAddress: IPAddress?  // nil: any (the all-zeros IPv4-mapped address)

        /// 60 bytes: the common request header, then the MAP opcode's fields.
        func serialize() -> [UInt8] {
            var out: [UInt8] = [PCP.version, PCP.opMap, 0, 0]
            out.put(lifetime)
            out += client.pcpBytes
            out += nonce.count == 12 ? nonce : Array((nonce + [UInt8](repeating: 0, count: 12)).prefix(12))
            out += [PCP.protocolUDP, 0, 0, 0]
            out.put(internalPort)
            out.put(suggestedExternalPort)
            out += (suggestedExternalAddress ?? IPAddress(isIPv6: false, high: 0, low: 0)).pcpBytes
            return out
        }

        static func parse(_ bytes: [UInt8]) -> MapRequest? {
            let r = ByteReader(bytes)
            guard bytes.count == PCP.headerSize + PCP.mapDataSize, r.u8(0) == PCP.version, r.u8(1) == PCP.opMap,
                  let lifetime = r.u32(4), let clientRaw = r.slice(8, 16), let client = IPAddress(pcpBytes: clientRaw),
                  let nonce = r.slice(24, 12), r.u8(36) == PCP.protocolUDP, let internalPort = r.u16(40),
                  let suggestedPort = r.u16(42), let suggestedRaw = r.slice(44, 16),
                  let suggested = IPAddress(pcpBytes: suggestedRaw) else { return nil }
            let any = !suggested.isIPv6 && suggested.high == 0
            return MapRequest(nonce: nonce, lifetime: lifetime, client: client, internalPort: internalPort,
                              suggestedExternalPort: suggestedPort, suggestedExternalAddress: any ? nil : suggested)
        }
    }

    /// 24 bytes: the common header with opcode ANNOUNCE and lifetime 0; the answer carries the server's epoch.
    static func announceRequest(client: IPAddress) -> [UInt8] {
        var out: [UInt8] = [version, opAnnounce, 0, 0, 0, 0, 0, 0]
        out += client.pcpBytes
        return out
    }

    struct Response: Equatable {
        struct Map: Equatable {
            var nonce: [UInt8]
            var internalPort: UInt16
            var externalPort: UInt16
            var externalAddress: IPAddress
        }
        var version: UInt8
        var opcode: UInt8
        var resultCode: UInt8      // raw: a server may send codes this client does not know
        var lifetime: UInt32       // granted; for an error, how long it holds
        var epoch: UInt32
        var map: Map?              // MAP responses that carry their opcode data

        func serialize() -> [UInt8] {
            var out: [UInt8] = [version, opcode | 0x80, 0, resultCode]
            out.put(lifetime)
            out.put(epoch)
            out += [UInt8](repeating: 0, count: 12)
            if let map {
                out += map.nonce
                out += [PCP.protocolUDP, 0, 0, 0]
                out.put(map.internalPort)
                out.put(map.externalPort)
                out += map.externalAddress.pcpBytes
            }
            return out
        }

        /// Nil for anything but a well-formed PCP response (RFC 6887 §8.3: too short, too long, not a multiple of
        /// 4, the R bit clear). The version is returned as sent, so the caller sees an UNSUPP_VERSION answer.
        /// A MAP success must carry its 36 bytes of opcode data with protocol UDP.
        static func parse(_ bytes: [UInt8]) -> Response? {
            let r = ByteReader(bytes)
            guard bytes.count >= PCP.headerSize, bytes.count <= PCP.maximumSize, bytes.count % 4 == 0,
                  let version = r.u8(0), let op = r.u8(1), op & 0x80 != 0, let resultCode = r.u8(3),
                  let lifetime = r.u32(4), let epoch = r.u32(8) else { return nil }
            var response = Response(version: version, opcode: op & 0x7f, resultCode: resultCode, lifetime: lifetime,
                                    epoch: epoch, map: nil)
            guard response.opcode == PCP.opMap, bytes.count >= PCP.headerSize + PCP.mapDataSize else {
                if response.opcode == PCP.opMap, resultCode == ResultCode.success.rawValue, version == PCP.version {
                    return nil
                }
                return response
            }
            guard let nonce = r.slice(24, 12), let proto = r.u8(36), let internalPort = r.u16(40),
                  let externalPort = r.u16(42), let raw = r.slice(44, 16),
                  let address = IPAddress(pcpBytes: raw) else { return nil }
            if proto != PCP.protocolUDP, resultCode == ResultCode.success.rawValue { return nil }
            response.map = Map(nonce: nonce, internalPort: internalPort, externalPort: externalPort,
                               externalAddress: address)
            return response
        }
    }
}
