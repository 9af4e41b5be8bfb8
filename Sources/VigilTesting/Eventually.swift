/// Polls `condition` every `interval` until it holds or `timeout` passes, and returns whether it
/// held. A check that throws counts as "not yet" (a database restarting, a server still starting);
/// the last check, at the deadline, answers for itself.
public func eventually(
    timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(25), _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
