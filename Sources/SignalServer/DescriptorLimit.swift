import Glibc

/// Every connection, idle or not, is a descriptor. Under systemd the soft limit defaults to 1024 while the hard
/// limit is far higher; a server left at 1024 is locked up by about a thousand idle sockets. Like Go's runtime,
/// take the soft limit up to the hard one at start. Returns the limit now in force.
@discardableResult
public func raiseDescriptorLimit() -> UInt64 {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0 else { return 0 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(resource, &raised) == 0 { return UInt64(raised.rlim_cur) }
    }
    return UInt64(limit.rlim_cur)
}
