import Keys
import Foundation
import KubernetesSignaling
import Signaling
import TestSupport
import Testing

/// One wg-ice peer on the Kubernetes backend, behind the end-to-end layer the session uses.
final class Peer: Sendable {
    let key = PrivateKey.generate()
    let backend: KubernetesBackend
    let inbox = Inbox()
    private let channel: SignalingChannel
    private let reader: Task<Void, Never>

    init(url: String, ttl: Duration = .seconds(60), options: KubernetesBackend.Options = .init()) throws {
        var options = options
        options.ttl = ttl
        backend = try KubernetesBackend(url: url, identity: key.publicKey, kubernetes: options)
        channel = SignalingChannel(key: key, backend: backend)
        let (backend, inbox, channel) = (backend, inbox, channel)
        reader = Task {
            for await event in backend.events {
                switch event {
                case .message(let envelope):
                    switch channel.open(envelope) {
                    case .success(let message):
                        guard case .candidate(let candidate) = message.payload.kind else { continue }
                        await inbox.add(candidate.sdp)
                    case .failure(let reason): await inbox.add("dropped \(reason)")
                    }
                case .connected: await inbox.connected()
                case .publishFailed(_, let reason): await inbox.add("publish failed \(reason)")
                case .disconnected, .unreachable, .iceServers: break
                }
            }
        }
        backend.start()
    }

    func send(_ text: String, to peer: Key) async throws {
        var candidate = Candidate()
        candidate.sdp = text
        try await channel.send(.candidate(candidate), to: peer)
    }

    func close() async {
        await backend.close()
        await reader.value
    }
}

actor Inbox {
    private(set) var messages: [String] = []
    private(set) var connections = 0

    func add(_ message: String) { messages.append(message) }
    func connected() { connections += 1 }

    /// Polls until `condition` holds or `seconds` pass; returns whether it held.
    nonisolated func wait(seconds: Double = 10, _ condition: @Sendable (Inbox) async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition(self)
    }
}

/// Polls the emulator until `condition` holds on its status, or `seconds` pass.
func eventually(_ emulator: KubeEmulator, seconds: Double = 10, _ condition: (KubeEmulator.Status) -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if condition(try await emulator.control("objects")) { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return condition(try await emulator.control("objects"))
}

/// Runs `body` against a fresh emulator process and stops it afterwards, also when `body` throws.
func withEmulator(tls: Bool = true, token: String? = "token-\(uniqueSuffix())", clientCertificates: Bool = false,
                  _ body: (KubeEmulator) async throws -> Void) async throws {
    let emulator = try KubeEmulator(tls: tls, token: token, clientCertificates: clientCertificates)
    do { try await body(emulator) } catch {
        await emulator.stop()
        throw error
    }
    await emulator.stop()
}

@Suite(.timeLimit(.minutes(2)), .tags(.integration))
struct KubernetesBackendTests {
    @Test func twoClientsExchangeOverTLSWithTokens() async throws {
        try await withEmulator { emulator in
            let a = try Peer(url: emulator.url()), b = try Peer(url: emulator.url())
            #expect(await a.inbox.wait { await $0.connections == 1 })
            #expect(await b.inbox.wait { await $0.connections == 1 })
            for i in 1...5 {
                try await a.send("a\(i)", to: b.key.publicKey)
                try await b.send("b\(i)", to: a.key.publicKey)
            }
            #expect(await b.inbox.wait { await $0.messages.count == 5 })
            #expect(await a.inbox.wait { await $0.messages.count == 5 })
            #expect(await b.inbox.messages == ["a1", "a2", "a3", "a4", "a5"])
            #expect(await a.inbox.messages == ["b1", "b2", "b3", "b4", "b5"])
            // Consumed envelopes are deleted.
            #expect(try await eventually(emulator) { $0.objects.isEmpty })
            await a.close()
            await b.close()
        }
    }

    @Test func selectableFromTheSignalingURL() async throws {
        try await withEmulator { emulator in
            let b = try Peer(url: emulator.url())
            let key = PrivateKey.generate()
            let backend = try makeSignalingBackend(urls: emulator.url(), key: key, kubernetes: KubernetesBackend.maker)
            #expect(backend is KubernetesBackend)
            let channel = SignalingChannel(key: key, backend: backend)
            backend.start()
            var candidate = Candidate()
            candidate.sdp = "via Signaling = k8s://"
            try await channel.send(.candidate(candidate), to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["via Signaling = k8s://"] })
            await backend.close()
            await b.close()
        }
    }

    @Test func watchDropIsResumedWithoutLossOrDuplication() async throws {
        try await withEmulator { emulator in
            let a = try Peer(url: emulator.url()), b = try Peer(url: emulator.url())
            try await a.send("before", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["before"] })
            let listsBefore = try await emulator.control("objects").lists

            try await emulator.control("drop-watches?hold=true")  // watches end, new ones get 503 until resume
            for i in 1...3 { try await a.send("during\(i)", to: b.key.publicKey) }
            #expect(try await eventually(emulator) { $0.objects.count == 3 })
            try await Task.sleep(for: .milliseconds(500))
            #expect(await b.inbox.messages == ["before"])
            try await emulator.control("resume")

            #expect(await b.inbox.wait { await $0.messages.count == 4 })
            try await Task.sleep(for: .seconds(1.5))  // several bookmarks later: nothing delivered twice
            #expect(await b.inbox.messages == ["before", "during1", "during2", "during3"])
            // Resumed from the resourceVersion: no inbox list was needed.
            let status = try await emulator.control("objects")
            #expect(status.objects.isEmpty)
            #expect(status.lists == listsBefore, "resume re-listed instead of watching from the resourceVersion")
            await a.close()
            await b.close()
        }
    }

    @Test func goneAfterCompactionTriggersRelist() async throws {
        try await withEmulator { emulator in
            let a = try Peer(url: emulator.url()), b = try Peer(url: emulator.url())
            try await a.send("first", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["first"] })
            let listsBefore = try await emulator.control("objects").lists

            try await emulator.control("drop-watches?hold=true")
            try await a.send("missed", to: b.key.publicKey)
            #expect(try await eventually(emulator) { $0.objects.count == 1 })
            try await emulator.control("compact")  // the ADDED event for "missed" is gone from the history
            try await emulator.control("resume")

            #expect(await b.inbox.wait { await $0.messages == ["first", "missed"] })
            #expect(try await emulator.control("objects").lists > listsBefore)
            try await a.send("after", to: b.key.publicKey)  // and the new watch works
            #expect(await b.inbox.wait { await $0.messages == ["first", "missed", "after"] })
            await a.close()
            await b.close()
        }
    }

    /// Other clients' traffic moves the namespace's resourceVersion while this client's inbox is idle; only
    /// bookmarks tell it so. After a compaction it can then still resume instead of getting 410 and re-listing.
    @Test func bookmarksKeepAnIdleWatchResumable() async throws {
        try await withEmulator { emulator in
            let a = try Peer(url: emulator.url()), b = try Peer(url: emulator.url())
            try await a.send("first", to: b.key.publicKey)  // b now holds a real resourceVersion, not "0" (= any)
            #expect(await b.inbox.wait { await $0.messages == ["first"] })
            let listsBefore = try await emulator.control("objects").lists
            for i in 1...3 { try await a.send("elsewhere\(i)", to: PrivateKey.generate().publicKey) }
            #expect(try await eventually(emulator) { $0.objects.count == 3 })
            try await Task.sleep(for: .seconds(1.5))  // bookmark interval 0.5 s
            try await emulator.control("compact")
            try await emulator.control("drop-watches")
            try await a.send("to b", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["first", "to b"] })
            #expect(try await emulator.control("objects").lists == listsBefore, "an idle watch fell behind and re-listed")
            await a.close()
            await b.close()
        }
    }

    @Test func envelopesPastTheTTLAreCollectedAndNotDelivered() async throws {
        try await withEmulator { emulator in
            let absent = PrivateKey.generate().publicKey
            let later = PrivateKey.generate()
            let publisher = try Peer(url: emulator.url(), ttl: .seconds(60))
            try await publisher.send("never read", to: absent)
            try await publisher.send("stale", to: later.publicKey)
            #expect(try await eventually(emulator) { $0.objects.count == 2 })
            await publisher.close()

            try await Task.sleep(for: .seconds(3))  // creationTimestamp has 1 s resolution
            let collector = try Peer(url: emulator.url(), ttl: .seconds(2))
            // Its GC sweep (every TTL/2) deletes both, the one for a peer that never comes included.
            #expect(try await eventually(emulator) { $0.objects.isEmpty })
            await collector.close()
            #expect(await collector.inbox.messages.isEmpty)
        }
    }

    @Test func staleEnvelopeIsNotDelivered() async throws {
        try await withEmulator { emulator in
            let publisher = try Peer(url: emulator.url(), ttl: .seconds(60))
            let late = PrivateKey.generate()
            try await publisher.send("old news", to: late.publicKey)
            #expect(try await eventually(emulator) { $0.objects.count == 1 })
            try await Task.sleep(for: .seconds(3.2))
            var options = KubernetesBackend.Options()
            options.ttl = .seconds(2)
            let receiver = try KubernetesBackend(url: emulator.url(), identity: late.publicKey, kubernetes: options)
            receiver.start()
            #expect(try await eventually(emulator) { $0.objects.isEmpty })
            await receiver.close()
            var delivered = 0
            for await event in receiver.events { if case .message = event { delivered += 1 } }
            #expect(delivered == 0)
            await publisher.close()
        }
    }

    @Test func rotatedTokenIsReReadAfter401() async throws {
        try await withEmulator { emulator in
            let a = try Peer(url: emulator.url()), b = try Peer(url: emulator.url())
            try await a.send("one", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["one"] })
            let rotated = "rotated-\(uniqueSuffix())"
            try await emulator.control("token", body: rotated)
            try Data(rotated.utf8).write(to: URL(fileURLWithPath: emulator.tokenFile))
            try await a.send("two", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["one", "two"] })
            #expect(await a.inbox.messages.isEmpty)  // no publish failure
            await a.close()
            await b.close()
        }
    }

    @Test func serverCertificateFromAnotherCAIsRefused() async throws {
        try await withEmulator { emulator in
            let otherCA = emulator.directory.appendingPathComponent("other-ca.crt").path
            try runChecked(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-keyout", emulator.directory.appendingPathComponent("other-ca.key").path, "-out", otherCA,
                            "-days", "2", "-subj", "/CN=some other CA"])
            let url = "k8s://127.0.0.1:\(emulator.port)?ca-file=\(otherCA)&token-file=\(emulator.tokenFile)"
            let a = try Peer(url: url)
            // A client that skipped verification would list within milliseconds; give it three seconds.
            #expect(await !a.inbox.wait(seconds: 3) { await $0.connections > 0 })
            #expect(try await emulator.control("objects").lists == 0)
            await a.close()
        }
    }

    @Test func queuedEnvelopesAreReportedFailedOnClose() async throws {
        let a = try Peer(url: "k8s://127.0.0.1:1?plaintext=true")  // nothing listens: every create fails
        for i in 1...3 { try await a.send("queued\(i)", to: PrivateKey.generate().publicKey) }
        try await Task.sleep(for: .milliseconds(300))
        await a.close()
        #expect(await a.inbox.messages == ["publish failed closed", "publish failed closed", "publish failed closed"])
    }

    @Test func wrongTokenIsReportedAsPublishFailure() async throws {
        try await withEmulator { emulator in
            let a = try Peer(url: emulator.url())
            try await emulator.control("token", body: "something-else")
            try await a.send("refused", to: PrivateKey.generate().publicKey)
            #expect(await a.inbox.wait { await $0.messages.first?.hasPrefix("publish failed 401") == true })
            await a.close()
        }
    }

    @Test func inClusterForm() async throws {
        try await withEmulator { emulator in
            let serviceAccount = emulator.directory.appendingPathComponent("serviceaccount")
            try FileManager.default.createDirectory(at: serviceAccount, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: emulator.caFile, toPath: serviceAccount.appendingPathComponent("ca.crt").path)
            try FileManager.default.copyItem(atPath: emulator.tokenFile, toPath: serviceAccount.appendingPathComponent("token").path)
            var options = KubernetesBackend.Options()
            options.environment = ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(emulator.port)]
            options.serviceAccountDirectory = serviceAccount.path
            let a = try Peer(url: "k8s:", options: options), b = try Peer(url: "k8s:?namespace=wg-ice", options: options)
            try await a.send("in-cluster", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["in-cluster"] })
            await a.close()
            await b.close()
        }
    }

    @Test func kubeconfigForm() async throws {
        try await withEmulator { emulator in
            let ca = try Data(contentsOf: URL(fileURLWithPath: emulator.caFile)).base64EncodedString()
            let token = try String(contentsOfFile: emulator.tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let kubeconfig = emulator.directory.appendingPathComponent("kubeconfig")
            try """
                apiVersion: v1
                kind: Config
                clusters:
                - name: other
                  cluster:
                    server: https://192.0.2.1:6443
                - name: test
                  cluster:
                    server: https://127.0.0.1:\(emulator.port)
                    certificate-authority-data: \(ca)
                users:
                - name: tester
                  user:
                    token: \(token)
                contexts:
                - name: wrong
                  context: {cluster: other, user: tester}
                - name: right
                  context:
                    cluster: test
                    user: tester
                    namespace: ignored-see-docs
                current-context: right
                """.write(to: kubeconfig, atomically: true, encoding: .utf8)
            let a = try Peer(url: "k8s://\(kubeconfig.path)"), b = try Peer(url: "k8s://\(kubeconfig.path)?namespace=wg-ice")
            try await a.send("via kubeconfig", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["via kubeconfig"] })
            await a.close()
            await b.close()
        }
    }

    @Test func kubeconfigWithClientCertificateFiles() async throws {
        try await withEmulator(token: nil, clientCertificates: true) { emulator in
            let kubeconfig = emulator.directory.appendingPathComponent("kubeconfig")
            // Relative paths are relative to the kubeconfig's directory.
            try """
                apiVersion: v1
                kind: Config
                clusters: [{name: test, cluster: {server: "https://127.0.0.1:\(emulator.port)", certificate-authority: ca.crt}}]
                users: [{name: node, user: {client-certificate: client.crt, client-key: client.key}}]
                contexts: [{name: test, context: {cluster: test, user: node}}]
                current-context: test
                """.write(to: kubeconfig, atomically: true, encoding: .utf8)
            let a = try Peer(url: "k8s://\(kubeconfig.path)"), b = try Peer(url: "k8s://\(kubeconfig.path)")
            try await a.send("with a client certificate", to: b.key.publicKey)
            #expect(await b.inbox.wait { await $0.messages == ["with a client certificate"] })
            await a.close()
            await b.close()
            // Without the certificate the server refuses the TLS handshake.
            let anonymous = try Peer(url: emulator.url())
            #expect(await !anonymous.inbox.wait(seconds: 2) { await $0.connections > 0 })
            await anonymous.close()
        }
    }

    @Test func namespacesSeparateClients() async throws {
        try await withEmulator { emulator in
            let a = try Peer(url: emulator.url(namespace: "team-a"))
            let b = try Peer(url: emulator.url(namespace: "team-b"))
            try await a.send("wrong namespace", to: b.key.publicKey)
            #expect(try await eventually(emulator) { $0.objects.count == 1 })
            try await Task.sleep(for: .seconds(1))
            #expect(await b.inbox.messages.isEmpty)
            await a.close()
            await b.close()
        }
    }
}

@Suite struct KubernetesURLTests {
    @Test(arguments: [
        ("http://127.0.0.1:6443", "expected k8s:"),
        ("k8s://127.0.0.1", "needs a port"),
        ("k8s://127.0.0.1:6443/api", "unexpected path"),
        ("k8s://127.0.0.1:6443?token=abc", "unknown parameter 'token'"),
        ("k8s://127.0.0.1:6443?namespace=Not_A_Label", "is not a DNS label"),
        ("k8s://127.0.0.1:6443?token-file=/nonexistent/token", "cannot read token-file /nonexistent/token"),
        ("k8s://127.0.0.1:6443?ca-file=/nonexistent/ca.crt", "cannot read ca-file /nonexistent/ca.crt"),
        ("k8s:", "needs KUBERNETES_SERVICE_HOST"),
        ("k8s:///nonexistent/kubeconfig", "cannot read kubeconfig /nonexistent/kubeconfig"),
        ("k8s:///etc/hostname?token-file=/x", "only apply to k8s://HOST:PORT"),
    ])
    func badURLsAreRefusedClearly(url: String, expected: String) throws {
        var options = KubernetesBackend.Options()
        options.environment = [:]
        let error = #expect(throws: KubernetesError.self) {
            try KubernetesBackend(url: url, identity: PrivateKey.generate().publicKey, kubernetes: options)
        }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("users: [{name: u, user: {exec: {command: aws}}}]", "'exec' is not supported"),
        ("current-context: ''", "no current-context"),
        ("current-context: c\ncontexts: []", "no contexts entry named 'c'"),
        ("- just a list", "not a YAML mapping"),
    ])
    func badKubeconfigsAreRefusedClearly(yaml: String, expected: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(uniqueSuffix())").path
        let full = yaml.contains("exec")
            ? "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: 'https://10.0.0.1'}}]\n" + yaml
            : yaml
        try full.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: KubernetesError.self) { try KubernetesEndpoint(url: "k8s://" + path) }
        #expect(error?.description.hasPrefix(path + ": ") == true)
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func labelIsTheHexOfTheFirst20BytesOfSHA256() throws {
        // printf '\0%.0s' {1..32} | sha256sum → 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925
        let zero = try #require(Key(bytes: [UInt8](repeating: 0, count: 32)))
        #expect(KubernetesBackend.label(for: zero) == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925".prefix(40))
    }

    /// The config layer picks a backend by URL scheme, so every form must parse as a URL with scheme k8s.
    @Test(arguments: ["k8s:", "k8s:?namespace=x", "k8s:///etc/kubernetes/admin.conf", "k8s://10.0.0.1:6443?token-file=/t"])
    func formsAreURLsWithSchemeK8s(url: String) {
        #expect(URL(string: url)?.scheme == "k8s")
    }
}

@Suite(.tags(.integration)) struct KubernetesManifestTests {
    /// kubectl's client-side dry run resolves every kind through API discovery, which the emulator serves
    /// (kmock's catalogue of built-in kinds plus the CRD). Without a server, kubectl validates nothing offline.
    @Test func manifestsPassKubectlDryRun() async throws {
        try await withEmulator(tls: false, token: nil) { emulator in
            let server = ["kubectl", "--server", "http://127.0.0.1:\(emulator.port)", "apply", "--dry-run=client", "--validate=false"]
            let result = try runChecked(server + ["-f", packageRoot.appendingPathComponent("deploy/kubernetes").path])
            let created = result.stdout.split(separator: "\n").filter { $0.hasSuffix("created (dry run)") }.map(String.init)
            #expect(created.sorted() == [
                "customresourcedefinition.apiextensions.k8s.io/signalenvelopes.wg-ice.io created (dry run)",
                "namespace/wg-ice created (dry run)",
                "role.rbac.authorization.k8s.io/wg-ice-signaling created (dry run)",
                "rolebinding.rbac.authorization.k8s.io/wg-ice-signaling created (dry run)",
                "serviceaccount/wg-ice created (dry run)",
            ])
            // And it can fail: a misspelt kind does not resolve.
            let bad = try run(server + ["-f", "-"], input: "apiVersion: rbac.authorization.k8s.io/v1\nkind: Rolebinding\nmetadata: {name: x}\n")
            #expect(!bad.succeeded)
        }
    }

    /// The emulator enforces the CRD's schema like an API server; an object the backend would never write is refused.
    @Test func crdSchemaIsEnforced() async throws {
        try await withEmulator(tls: false, token: nil) { emulator in
            let good = #"{"apiVersion":"wg-ice.io/v1","kind":"SignalEnvelope","metadata":{"name":"ok"},"spec":{"recipient":"\#(String(repeating: "ab", count: 20))","payload":"AAAA"}}"#
            let bad = #"{"apiVersion":"wg-ice.io/v1","kind":"SignalEnvelope","metadata":{"name":"bad"},"spec":{"recipient":"not-a-hash","payload":"%%%"}}"#
            let accepted = try await emulator.create(json: good), refused = try await emulator.create(json: bad)
            #expect(accepted < 300)
            #expect(refused == 422)
        }
    }
}
