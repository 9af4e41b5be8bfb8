import Foundation
import Testing
import VigilStore

@Suite("Task.finishes(before:)")
struct TaskDeadlineTests {
    @Test("a task that finishes long before its deadline is never reported as past it")
    func finishedIsFinished() async {
        var late = 0
        for _ in 0..<20_000 {
            let task = Task<Void, Never> {}
            if await !task.finishes(before: { try? await Task.sleep(for: .seconds(60)) }) { late += 1 }
        }
        #expect(late == 0, "\(late) of 20,000 finished tasks were reported as past their deadline")
    }

    @Test("a task that outlives its deadline is reported as past it")
    func pastDeadline() async {
        let task = Task<Void, Never> { try? await Task.sleep(for: .seconds(30)) }
        #expect(await !task.finishes(before: { try? await Task.sleep(for: .milliseconds(20)) }))
        task.cancel()
    }
}
