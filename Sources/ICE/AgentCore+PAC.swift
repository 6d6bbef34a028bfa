/// The expiry of the PAC timer (see `PACTimer`).
extension AgentCore {
    func schedulePACExpiry(_ generation: Int) {
        let duration = configuration.failedTimeout
        Task { [weak self] in
            try? await Task.sleep(for: duration)
            self?.loop.invoke { [weak self] in self?.pacExpired(generation) }
        }
    }

    /// Reports the failure libnice reported earlier, or fails a checklist that never got a remote
    /// candidate (libnice would wait for one forever). Loop thread.
    private func pacExpired(_ generation: Int) {
        guard open.withLock({ $0 }) else { return }
        let (current, holding, componentState) = state.withLock { s in
            (s.pac.expire(generation), s.pac.holding, s.componentState)
        }
        guard current else { return }
        if holding {
            logger.notice("ICE failed: no working pair \(configuration.failedTimeout) after checks started")
        } else {
            let decided = [.connected, .ready, .failed].contains(componentState)
            guard !decided, (try? remoteCandidates())?.isEmpty == true else { return }
            logger.notice("ICE failed: no candidate from the peer \(configuration.failedTimeout) after its credentials")
            state.withLock { $0.componentState = .failed }
        }
        events.yield(.stateChanged(.failed))
    }
}
