import Signaling

extension KubernetesBackend {
    /// What `makeSignalingBackend(urls:key:options:kubernetes:)` takes to accept `k8s:` URLs: Signaling cannot
    /// name this backend, which depends on it.
    public static let maker: KubernetesBackendMaker = { url, identity, options in
        try KubernetesBackend(url: url, identity: identity, options: options)
    }
}
