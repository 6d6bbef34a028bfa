import Addresses
import CMiniUPnPc

/// A UPnP Internet Gateway Device found on the LAN. Every call blocks on HTTP (SOAP): the mapper makes them through
/// `Blocking.run`. A seam: the unit tests script one.
public protocol UPnPGateway: Sendable {
    /// WANIPConnection:2, which has AddAnyPortMapping (the router picks a free port).
    var offersAnyPortMapping: Bool { get }
    func externalAddress() -> IPAddress?
    /// 0 on success, else the UPnP error code (718 conflict, 725 permanent leases only, ...) or a negative
    /// libminiupnpc error (no answer, bad answer).
    func addPortMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress, leaseSeconds: UInt32) -> Int32
    /// As `addPortMapping`, with the port the router chose.
    func addAnyPortMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress,
                           leaseSeconds: UInt32) -> (code: Int32, port: UInt16)
    /// Whether the router still holds a mapping of `externalPort` to `client:internalPort`; nil when it did not answer.
    func holdsMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress) -> Bool?
    func deletePortMapping(externalPort: UInt16)
}

public protocol UPnPDiscovery: Sendable {
    /// SSDP discovery, waiting `wait` for answers, then the first IGD's description. Blocks.
    func discover(wait: Duration) -> (any UPnPGateway)?
}

/// UPnP error codes the mapper acts on (UPnP IGD WANIPConnection spec).
enum UPnPError {
    static let conflictInMappingEntry: Int32 = 718
    static let onlyPermanentLeasesSupported: Int32 = 725
    static let noSuchEntryInArray: Int32 = 714
}

/// libminiupnpc.
public struct MiniUPnPDiscovery: UPnPDiscovery {
    public init() {}

    public func discover(wait: Duration) -> (any UPnPGateway)? {
        let milliseconds = Int32(clamping: wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)
        var error: Int32 = 0
        guard let devices = upnpDiscover(milliseconds, nil, nil, 0, 0, 2, &error) else { return nil }
        defer { freeUPNPDevlist(devices) }
        var urls = UPNPUrls()
        var data = IGDdatas()
        var lan = [CChar](repeating: 0, count: 64)
        let found = UPNP_GetValidIGD(devices, &urls, &data, &lan, Int32(lan.count))
        defer { if found != 0 { FreeUPNPUrls(&urls) } }
        // 1: a connected IGD; 2: an IGD that says it is not connected (some say so wrongly); 3: not an IGD.
        guard found == 1 || found == 2, let control = urls.controlURL else { return nil }
        let serviceType = withUnsafeBytes(of: data.first.servicetype) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        guard !serviceType.isEmpty else { return nil }
        return MiniUPnPGateway(controlURL: String(cString: control), serviceType: serviceType)
    }
}

struct MiniUPnPGateway: UPnPGateway {
    let controlURL: String
    let serviceType: String

    var offersAnyPortMapping: Bool { serviceType.hasSuffix("WANIPConnection:2") }

    func externalAddress() -> IPAddress? {
        var out = [CChar](repeating: 0, count: 64)
        guard UPNP_GetExternalIPAddress(controlURL, serviceType, &out) == 0 else { return nil }
        return IPAddress(String(decoding: out.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    func addPortMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress, leaseSeconds: UInt32) -> Int32 {
        UPNP_AddPortMapping(controlURL, serviceType, String(externalPort), String(internalPort), client.description,
                            upnpDescription, "UDP", nil, String(leaseSeconds))
    }

    func addAnyPortMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress,
                           leaseSeconds: UInt32) -> (code: Int32, port: UInt16) {
        var reserved = [CChar](repeating: 0, count: 8)
        let code = UPNP_AddAnyPortMapping(controlURL, serviceType, String(externalPort), String(internalPort),
                                          client.description, upnpDescription, "UDP", nil, String(leaseSeconds), &reserved)
        let port = UInt16(String(decoding: reserved.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        guard code == 0 else { return (code, 0) }
        // A success without a port number is a broken answer: refuse it rather than guess.
        return port.map { (0, $0) } ?? (-1, 0)
    }

    func holdsMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress) -> Bool? {
        var intClient = [CChar](repeating: 0, count: 16), intPort = [CChar](repeating: 0, count: 6)
        var desc = [CChar](repeating: 0, count: 80), enabled = [CChar](repeating: 0, count: 4)
        var lease = [CChar](repeating: 0, count: 16)
        let code = UPNP_GetSpecificPortMappingEntry(controlURL, serviceType, String(externalPort), "UDP", nil,
                                                    &intClient, &intPort, &desc, &enabled, &lease)
        if code == UPnPError.noSuchEntryInArray { return false }
        guard code == 0 else { return nil }
        let text = { (c: [CChar]) in String(decoding: c.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return IPAddress(text(intClient)) == client && UInt16(text(intPort)) == internalPort
    }

    func deletePortMapping(externalPort: UInt16) {
        _ = UPNP_DeletePortMapping(controlURL, serviceType, String(externalPort), "UDP", nil)
    }
}
