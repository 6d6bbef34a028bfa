import Testing

/// The suite's layers (`scripts/test unit|integration`). A test is in the unit layer unless it carries
/// `.integration`: it then needs root, network namespaces, or an outside program (wireguard-go, nginx, coturn,
/// openssl, the Kubernetes emulator, a signal server process under load).
extension Tag {
    @Tag public static var integration: Self
}
