import ICE
import ServiceURLs

// ConfParser has enums of the same names; files that import both modules use these.
typealias ICECandidateKind = ICE.CandidateType
typealias ICENetworkKind = ICE.NetworkType

extension ICEServer {
    /// The server a URL parsed by `ICEServerURL` names: the only parser, ConfParser's too, so `check` and the
    /// session read a URL alike. `stuns:` never gets here (`check` refuses it, with the reason).
    public init(_ url: ICEServerURL) throws {
        let kind: Kind
        switch (url.scheme, url.transport) {
        case (.stun, _): kind = .stun
        case (.turn, .udp): kind = .turnUDP
        case (.turn, .tcp): kind = .turnTCP
        case (.turns, _): kind = .turnTLS
        case (.stuns, _): throw ICEError.invalidConfiguration("\(url): STUN over TLS is not supported")
        }
        self.init(kind: kind, host: url.host.description, port: url.port)
    }

    /// Parses `text` as ConfParser does (`[ICE] URLs`), for tools that take URLs on their command line.
    public init(url text: String) throws {
        switch ICEServerURL.parse(text) {
        case .success(let url): try self.init(url)
        case .failure(let error): throw ICEError.invalidConfiguration("\(error)")
        }
    }
}
