import ArgumentParser

/// The `vigil` command: keeps machine-learning models healthy in production.
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Watch deployed models for drift and drive retraining, shadow comparison and canary promotion.",
        discussion: """
            With no database configured (--database-url, VIGIL_DATABASE_URL or PGHOST), Vigil starts a private \
            PostgreSQL cluster under .vigil/ (or $VIGIL_HOME) and reuses it.
            """,
        version: "0.1.0",
        subcommands: [
            MigrateCommand.self,
            DatabaseCommand.self,
            ValidateCommand.self,
            ApplyCommand.self,
            WorkflowsCommand.self,
            GraphCommand.self,
            RunCommand.self,
            RunsCommand.self,
            AlertsCommand.self,
            NotificationsCommand.self,
            ModelsCommand.self,
            LineageCommand.self,
            ReportCommand.self,
            IncidentsCommand.self,
            DemoCommand.self,
            AuditCommand.self,
            TokensCommand.self,
            SimulateCommand.self,
            TriggerCommand.self,
            ApproveCommand.self,
            RejectCommand.self,
            WorkerCommand.self,
            ServeCommand.self,
            IngestCommand.self,
            MetricsCommand.self,
            MonitorCommand.self,
            DriftCommand.self,
            BenchCommand.self,
        ]
    )
}
