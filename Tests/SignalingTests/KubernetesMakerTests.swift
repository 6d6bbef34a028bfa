import Keys
import Signaling
import Testing

/// `k8s:` needs the maker of module KubernetesSignaling, which Signaling cannot name (it depends on Signaling):
/// a program that does not pass it refuses the URL and says why.
@Suite struct KubernetesMakerTests {
    @Test func k8sWithoutAMakerIsRefused() {
        #expect(throws: SignalingError.badURL("`k8s:': this program has no Kubernetes backend")) {
            try makeSignalingBackend(url: "k8s:", key: .generate())
        }
    }
}
