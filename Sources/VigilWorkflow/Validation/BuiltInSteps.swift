/// The parameter schemas of the step types Vigil ships. The engine's implementations decode their
/// parameters from these names; `vigil validate` checks workflow files against them.
extension StepCatalog {
    public static let builtIn = StepCatalog([
        StepSchema(
            typeName: "monitor", summary: "Compute the windows that are due for the workflow's model and summarise drift and quality.",
            parameters: [
                .init("windows", .integer, minimum: 1, summary: "at most this many due windows per run"),
                .init("features", .list, summary: "features to test (default: every declared feature)"),
                .init("method", .string, allowed: ["auto", "ks", "psi", "js", "wasserstein", "wasserstein_normed", "hellinger", "chisquare", "z", "kl", "tv", "linf"].map(JSONValue.string)),
                .init("threshold", .number, minimum: 0),
                .init("sample_rate", .number, minimum: 0, maximum: 1, summary: "deterministic sampling of high-volume windows"),
                .init("lookback", .duration, summary: "how far back windows are checked for late rows and labels (default 7d)"),
                .init("min_rows", .integer, minimum: 1, summary: "fewer rows than this in a window or its reference: no drift test (default 30)"),
            ],
            outputs: [
                .init("windows_computed", .integer), .init("drifted_features", .list), .init("drift_scores", .object),
                .init("drift_share", .number), .init("performance", .object), .init("window_start", .string), .init("window_end", .string),
            ]
        ),
        StepSchema(
            typeName: "evaluate", summary: "Apply soft and hard rules to the metric tables and decide a severity.",
            parameters: [
                .init("soft", .object, summary: "rules that raise a soft finding"),
                .init("hard", .object, summary: "rules that raise a hard finding"),
                .init("persistence", .object, summary: "require N of the last M windows"),
            ],
            outputs: [
                .init("severity", .string), .init("reasons", .list), .init("fingerprint", .string),
                .init("drifted_features", .list), .init("window_start", .string), .init("window_end", .string),
            ]
        ),
        StepSchema(
            typeName: "escalate", summary: "Raise or update the alert and notify the channels for its severity.",
            parameters: [
                .init("severity", .string, required: true, allowed: ["none", "soft", "hard"].map(JSONValue.string)),
                .init("reasons", .list),
                .init("channels", .object, summary: "severity → channel names, for example { soft: [slack], hard: [pagerduty, alertmanager] }"),
                .init("renotify_after", .duration, summary: "page again while a hard alert stays unacknowledged this long"),
                .init("quiet_period", .duration, summary: "no new notification for the same fingerprint within this long of the last"),
                .init("alert", .string, summary: "the alert's name, matched by workflows' alert triggers (default <model>-drift)"),
                .init("subject", .string, summary: "what within the model the alert is about (default model)"),
                .init("labels", .object, summary: "extra labels for the alert and its receivers"),
                .init("resolve_after", .integer, minimum: 1, summary: "consecutive clear windows before the alert resolves itself (default 3)"),
                .init("window", .string, summary: "the evaluated window (default: the latest computed window)"),
            ],
            outputs: [
                .init("alert_id", .string), .init("notified", .list), .init("escalated", .boolean), .init("state", .string),
                .init("fingerprint", .string), .init("runs", .list),
            ]
        ),
        StepSchema(
            typeName: "retrain", summary: "Train a new model version on recent labelled data and register it as challenger.",
            parameters: [
                .init("executor", .string, required: true, allowed: ["builtin", "command", "http"].map(JSONValue.string)),
                .init("window", .duration, summary: "training data window ending now"),
                .init("command", .list, summary: "program and arguments (executor: command)"),
                .init("url", .string, summary: "training service (executor: http)"),
                .init("algorithm", .string, allowed: ["logistic_regression", "linear_regression"].map(JSONValue.string)),
                .init("seed", .integer),
                .init("parameters", .object, summary: "training parameters (builtin: l2); sent to the http service"),
                .init("poll_interval", .duration, summary: "how often the http executor polls the training service (default 5s)"),
            ],
            outputs: [
                .init("model_version", .integer), .init("artifact_uri", .string), .init("metrics", .object),
                .init("training_start", .string), .init("training_end", .string),
            ]
        ),
        StepSchema(
            typeName: "shadow_compare", summary: "Judge challenger against champion on the same requests.",
            parameters: [
                .init("challenger", .integer, summary: "model version (default: the challenger alias)"),
                .init("window", .duration),
                .init("metric", .string, allowed: ["f1", "accuracy", "auc", "log_loss", "rmse", "mae", "r2"].map(JSONValue.string)),
                .init("promote_if", .object, summary: "min_samples, min_lift, max_latency_regression, significance"),
                .init("bootstrap", .integer, minimum: 100),
            ],
            outputs: [
                .init("decision", .string), .init("lift", .number), .init("p_value", .number), .init("challenger", .integer), .init("champion", .integer),
                .init("samples", .integer), .init("champion_value", .number), .init("challenger_value", .number), .init("lift_low", .number),
                .init("lift_high", .number), .init("agreement", .number), .init("source", .string), .init("comparison", .integer), .init("reasons", .list),
            ]
        ),
        StepSchema(
            typeName: "promote", summary: "Promote the challenger by canary stages with guard metrics and automatic rollback.",
            parameters: [
                .init("version", .integer),
                .init("stages", .list, summary: "traffic percentages, for example [10, 50, 100]"),
                .init("hold", .duration, summary: "how long each stage is held"),
                .init("guards", .object, summary: "max_error_rate, max_latency_p95_ratio, min_quality_ratio, min_requests, min_labelled"),
                .init("approval_before_full", .boolean),
                .init("max_holds", .integer, minimum: 0, summary: "how often a stage is held again for want of canary traffic (default 3)"),
                .init("channels", .list, summary: "channels that hear of a rollback's alert"),
            ],
            outputs: [
                .init("promoted", .boolean), .init("rolled_back", .boolean), .init("final_stage", .number), .init("version", .integer), .init("reason", .string),
            ]
        ),
        StepSchema(
            typeName: "command", summary: "Run a program; its stdout and stderr go to the step log, its outputs come from a JSON file.",
            parameters: [
                .init("run", .list, required: true, summary: "program and arguments"),
                .init("env", .object),
                .init("working_directory", .string),
                .init("outputs_file", .string, summary: "the JSON file the program writes its outputs to"),
            ],
            outputs: [.init("exit_code", .integer)],
            hasDynamicOutputs: true
        ),
        StepSchema(
            typeName: "http", summary: "Call an HTTP endpoint with retries and an idempotency key.",
            parameters: [
                .init("url", .string, required: true),
                .init("method", .string, allowed: ["GET", "POST", "PUT", "PATCH", "DELETE"].map(JSONValue.string)),
                .init("headers", .object),
                .init("body", .any),
                .init("expect_status", .list),
            ],
            outputs: [.init("status", .integer), .init("body", .any)]
        ),
        StepSchema(
            typeName: "sleep", summary: "Wait, durably: the wait survives restarts.",
            parameters: [.init("for", .duration, required: true)]
        ),
        StepSchema(
            typeName: "approval", summary: "Wait for a person to approve or reject.",
            parameters: [
                .init("roles", .list, summary: "roles that may approve"),
                .init("message", .string),
            ],
            outputs: [.init("approved_by", .string), .init("reason", .string)]
        ),
    ])
}
