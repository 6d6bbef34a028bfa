import ICE

// ConfParser has enums of the same names; files that import both modules use these.
typealias ICECandidateKind = CandidateType
typealias ICENetworkKind = NetworkType
