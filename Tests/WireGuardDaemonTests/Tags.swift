import Testing

/// The suite's layers (`scripts/test unit|integration`): `.integration` marks a test that needs root (here, a
/// TUN device). This module links no TestSupport, where the other test modules find the same tag.
extension Tag {
    @Tag static var integration: Self
}
