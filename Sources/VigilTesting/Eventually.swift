/// Polls `condition` every `interval` until it holds or `timeout` passes, and returns whether it
/// held. A check that throws counts as "not yet" (a database restarting, a server still starting);
/// the last check, at the deadline, answers for itself.
///
/// The default wait is long: while the full suite starts on two cores, a state that takes a second
/// alone has taken over 20 s to come (a run reaching its approval gate), and only a failing test
/// waits it out.
public func eventually(
    timeout: Duration = .seconds(90), every interval: Duration = .milliseconds(25), _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
