/// Every number the port mapper's behaviour depends on. `PortMapperTuning.standard` is what the session uses;
/// tests shorten the intervals.
public struct PortMapperTuning: Sendable {
    /// The lease asked for (PCP, NAT-PMP and UPnP alike).
    public var lease: Duration = .seconds(7200)
    /// Renewal at this fraction of the granted lifetime.
    public var renewFraction: Double = 0.5
    /// A UPnP mapping granted with a permanent lease only (error 725) is added again this often.
    public var permanentLeaseRefresh: Duration = .seconds(3600)
    /// PCP/NAT-PMP retransmission: first wait, doubled after each silence, until the attempt gives up. RFC 6887's
    /// 3 s initial wait is too slow for a session that advertises candidates within a second or two; the gateway is
    /// one hop away, so three sends in a second tell a silent one (no PCP/NAT-PMP server) from a slow one.
    public var retransmitInitial: Duration = .milliseconds(250)
    public var attemptGiveUp: Duration = .seconds(1)
    /// After every method failed: first retry delay, doubled up to the maximum.
    public var retryInitial: Duration = .seconds(5)
    public var retryMaximum: Duration = .seconds(300)
    /// How often the router is asked for its epoch (PCP ANNOUNCE, NAT-PMP external address) or, for UPnP, whether the
    /// mapping and the external address still stand: a router restart or a new external address is noticed this fast.
    public var probeInterval: Duration = .seconds(60)
    /// SSDP discovery wait (libminiupnpc's `delay`).
    public var upnpDiscovery: Duration = .milliseconds(1000)
    /// `release` and `stop` wait at most this long for the router to acknowledge deletions.
    public var releaseBound: Duration = .milliseconds(250)
    /// UPnP error 718 (conflict): how many other external ports are tried.
    public var upnpConflictRetries: Int = 4

    public init() {}

    public static let standard = PortMapperTuning()
}

/// The PCP and NAT-PMP server port on the gateway (RFC 6887 §19.1, RFC 6886 §3).
let gatewayServerPort: UInt16 = 5351
/// What miniupnpd and others show as the mapping's description.
let upnpDescription = "wg-ice"
