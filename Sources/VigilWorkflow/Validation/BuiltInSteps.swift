/// The parameter schemas of the step types Vigil ships. The engine's implementations decode their
/// parameters from these names; `vigil validate` checks workflow files against them.
extension StepCatalog {
    public static let builtIn = StepCatalog([
        StepSchema(
            typeName: "monitor", summary: "Compute the windows that are due for the workflow's model and summarise drift and quality.",
            parameters: [
                .init("windows", .integer, minimum: 1, summary: "at most this many due windows per run"),
                .init("features", .list, summary: "features to test (default: every declared feature)", items: .init("feature", .string)),
                .init("method", .string, allowed: ["auto", "ks", "psi", "js", "wasserstein", "wasserstein_normed", "hellinger", "chisquare", "z", "kl", "tv", "linf"].map(JSONValue.string)),
                .init("threshold", .number, minimum: 0),
                .init("sample_rate", .number, minimum: 0, maximum: 1, summary: "deterministic sampling of high-volume windows"),
                .init("lookback", .duration, summary: "how far back windows are checked for late rows and labels (default 7d)"),
                .init("min_rows", .integer, minimum: 1, summary: "fewer rows than this in a window or its reference: no drift test (default 30)"),
                .init("significance", .number, minimum: 0, maximum: 1, summary: "level a test must reach to confirm an automatic effect size (default 0.001)"),
                .init("correction", .string, allowed: ["bh", "bonferroni", "none"].map(JSONValue.string), summary: "p-value correction across a window's columns (default bh)"),
                .init("multivariate", .any, summary: "true, or { methods, sample_rows, seed, significance, champion_importance }: also compare the tested features all together (data reconstruction, domain classifier)", fields: [
                    .init("methods", .list, items: .init("method", .string, allowed: ["reconstruction", "domain_classifier"].map(JSONValue.string))),
                    .init("sample_rows", .integer, minimum: 50, summary: "most rows drawn from each side (default 1000)"),
                    .init("seed", .integer, minimum: 0, summary: "draws the rows and the classifier's folds (default 0)"),
                    .init("significance", .number, minimum: 0, maximum: 1, summary: "the domain classifier flags a p-value below it (default 0.01)"),
                    .init("champion_importance", .any, summary: "true, or { repeats, scorer }: rank a drifted window's drivers also by how far the champion's permutation importances moved", fields: [
                        .init("repeats", .integer, minimum: 1, summary: "shuffles of each feature (default 5)"),
                        .init("scorer", .object, summary: "{ command }: the program that scores the champion, as shadow_compare's scorer (default: Vigil scores its own built-in models)", fields: [
                            .init("command", .list, required: true, items: .init("argument", .string)),
                        ]),
                    ]),
                ]),
                .init("embedding", .object, summary: "{ method, sample_rows, permutations, seed }: how embedding features are compared whole (default mmd, 1000 rows a side, 200 permutations, seed 0)", fields: [
                    .init("method", .string, allowed: ["mmd", "domain_classifier", "mean_distance", "pca_ks"].map(JSONValue.string)),
                    .init("sample_rows", .integer, minimum: 10, summary: "most rows drawn from each side"),
                    .init("permutations", .integer, minimum: 1, summary: "of the mmd and mean_distance tests"),
                    .init("seed", .integer, minimum: 0),
                ]),
            ],
            outputs: [
                .init("windows_computed", .integer), .init("drifted_features", .list), .init("drift_scores", .object),
                .init("drift_share", .number), .init("performance", .object), .init("window_start", .string), .init("window_end", .string),
                .init("multivariate_drifted", .list), .init("drivers", .list),
            ]
        ),
        StepSchema(
            typeName: "evaluate", summary: "Apply soft and hard rules to the metric tables and decide a severity.",
            parameters: [
                .init("soft", .object, summary: "rules that raise a soft finding", fields: EvaluationRuleSchema.rules),
                .init("hard", .object, summary: "rules that raise a hard finding", fields: EvaluationRuleSchema.rules),
                .init("persistence", .object, summary: "require N of the last M windows", fields: EvaluationRuleSchema.persistence),
                .init("slice", .string, summary: "judge one slice instead of the whole window: expression=value with an expression from data.slices, such as region=eu"),
                .init("for_each_slice", .string, summary: "judge every value of this expression from data.slices on its own, such as region"),
                .init("min_slice_rows", .integer, minimum: 1, summary: "a slice with fewer rows in the latest window is not judged (default 100)"),
                .init("slice_correction", .string, allowed: ["bonferroni", "none"].map(JSONValue.string),
                      summary: "how the rules' levels are corrected for the number of slices judged (default bonferroni)"),
            ],
            outputs: [
                .init("severity", .string), .init("reasons", .list), .init("fingerprint", .string),
                .init("drifted_features", .list), .init("window_start", .string), .init("window_end", .string),
                .init("slices", .list, summary: "each judged slice: { slice, key, value, severity, reasons, rows, drifted_features }"),
            ]
        ),
        StepSchema(
            typeName: "escalate", summary: "Raise or update the alert and notify the channels for its severity.",
            parameters: [
                .init("severity", .string, allowed: ["none", "soft", "hard"].map(JSONValue.string), summary: "the finding's severity (or give slices)"),
                .init("slices", .list, summary: "an evaluate step's slices output: one alert per slice, the slice its subject"),
                .init("reasons", .list),
                .init("channels", .object, summary: "severity → channel names, for example { soft: [slack], hard: [pagerduty, alertmanager] }",
                      fields: ["none", "soft", "hard"].map { .init($0, .list, items: .init("channel", .string)) }),
                .init("renotify_after", .duration, summary: "page again while a hard alert stays unacknowledged this long"),
                .init("quiet_period", .duration, summary: "no new notification for the same fingerprint within this long of the last"),
                .init("alert", .string, summary: "the alert's name, matched by workflows' alert triggers (default <model>-drift)"),
                .init("subject", .string, summary: "what within the model the alert is about (default model)"),
                .init("labels", .object, summary: "extra labels for the alert and its receivers"),
                .init("resolve_after", .integer, minimum: 1, summary: "consecutive clear windows before the alert resolves itself (default 3)"),
                .init("window", .string, summary: "the evaluated window (default: the latest computed window)"),
            ],
            outputs: [
                .init("alert_id", .string), .init("notified", .list), .init("undelivered", .list), .init("escalated", .boolean), .init("state", .string),
                .init("fingerprint", .string), .init("runs", .list),
                .init("alerts", .list, summary: "with slices: each slice's { slice, alert_id, state, severity, escalated, fingerprint, notified }"),
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
                .init("metric", .string, allowed: MetricNames.shadowComparable.map(JSONValue.string),
                      summary: "f1 or accuracy for classification, rmse or mae for regression (default f1 or rmse)"),
                .init("promote_if", .object, summary: "min_samples, min_lift, max_latency_regression, significance", fields: [
                    .init("min_samples", .integer, minimum: 1), .init("min_lift", .number),
                    .init("max_latency_regression", .number, minimum: 0), .init("significance", .number, minimum: 0, maximum: 1),
                ]),
                .init("bootstrap", .integer, minimum: 100),
                .init("wait_for_samples", .duration, summary: "wait up to this long for min_samples labelled shadow answers (default: do not wait)"),
                .init("check_every", .duration, summary: "while waiting, how often to count them again (default 5m)"),
                .init("scorer", .object, summary: "a program that scores the replay window for models Vigil cannot score: { command: [program, args…] }", fields: [
                    .init("command", .list, required: true, summary: "program and arguments", items: .init("argument", .string)),
                ]),
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
                .init("stages", .list, summary: "traffic percentages, for example [10, 50, 100]", items: .init("stage", .number, minimum: 0, maximum: 100)),
                .init("hold", .duration, summary: "how long each stage is held"),
                .init("guards", .object, summary: "max_error_rate, max_latency_p95_ratio, min_quality_ratio, min_requests, min_labelled", fields: [
                    .init("max_error_rate", .number, minimum: 0, maximum: 1), .init("max_latency_p95_ratio", .number, minimum: 0),
                    .init("min_quality_ratio", .number, minimum: 0), .init("min_requests", .integer, minimum: 0), .init("min_labelled", .integer, minimum: 0),
                ]),
                .init("approval_before_full", .boolean),
                .init("max_holds", .integer, minimum: 0, summary: "how often a stage is held again for want of canary traffic (default 3)"),
                .init("channels", .list, summary: "channels that hear of a rollback's alert", items: .init("channel", .string)),
            ],
            outputs: [
                .init("promoted", .boolean), .init("rolled_back", .boolean), .init("final_stage", .number), .init("version", .integer), .init("reason", .string),
            ]
        ),
        StepSchema(
            typeName: "command", summary: "Run a program; its stdout and stderr go to the step log, its outputs come from a JSON file.",
            parameters: [
                .init("run", .list, required: true, summary: "program and arguments", items: .init("argument", .any)),
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
                .init("expect_status", .list, items: .init("status", .integer, minimum: 100, maximum: 599)),
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
                .init("roles", .list, summary: "roles that may approve", items: .init("role", .string)),
                .init("message", .string),
            ],
            outputs: [.init("approved_by", .string), .init("reason", .string)]
        ),
    ])
}

/// The names of the metrics Vigil computes per window, which rules and comparisons may name.
public enum MetricNames {
    /// Labelled-quality and output metrics (`performance_metrics`).
    public static let performance = [
        "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "ece", "positive_rate", "mean_score", "mean_confidence",
        "rmse", "mae", "r2", "mean_prediction",
    ]
    /// Performance estimated before labels (a classifier's from its scores, a regression's
    /// errors from its inputs and predictions), as rules name it.
    public static let estimated = ["accuracy", "precision", "recall", "f1", "specificity", "roc_auc", "mae", "rmse"].map { "estimated_" + $0 }
    /// Serving metrics (`operational_metrics`).
    public static let operational = ["error_rate", "throughput", "latency_p50", "latency_p95", "latency_p99"]
    /// Every metric a window can have, as rules name it.
    public static let all = performance + estimated + operational
    /// What a metric is in an `evaluate` rule's `when`: its value, band, rows, the reference's
    /// value and how much worse it is than that.
    public static let conditionFields = ["value", "lower", "upper", "rows", "labelled_rows", "baseline", "drop"]
    /// What `reference.<metric>` is in a `when`: the reference's value and its band at the window's size.
    public static let referenceFields = ["value", "lower", "upper"]
    /// What `shadow_compare` can compute on paired answers.
    public static let shadowComparable = ["f1", "accuracy", "rmse", "mae"]
}

/// The schema of an `evaluate` step's `soft:` and `hard:` rules, as `RuleSet` in the engine reads them.
enum EvaluationRuleSchema {
    static let persistence: [StepSchema.Parameter] = [
        .init("windows", .integer, required: true, minimum: 1), .init("of", .integer, required: true, minimum: 1),
    ]

    static let rules: [StepSchema.Parameter] = [
        .init("drift_share", .number, minimum: 0, maximum: 1, summary: "share of drifted features at or above this"),
        .init("drift_score", .any, summary: "a score above this, or { above, features }", fields: [
            .init("above", .number, required: true, minimum: 0), .init("features", .list, items: .init("feature", .string)),
        ]),
        .init("features", .list, summary: "any of these features drifted", items: .init("feature", .string)),
        .init("performance_drop", .object, summary: "{ metric, by, min_samples, significance }: worse than on the reference by at least `by`, on enough rows, beyond the window's noise", fields: [
            .init("metric", .string, required: true, allowed: (MetricNames.performance + MetricNames.estimated).map(JSONValue.string)),
            .init("by", .number, required: true, minimum: 0),
            .init("min_samples", .integer, minimum: 1, summary: "fewest labelled rows (all rows for an estimate) the window needs; default 100"),
            .init("significance", .number, minimum: 0, maximum: 1, summary: "largest one-sided p-value of the drop against the window's standard error; default 0.0005"),
        ]),
        .init("estimate_gap", .object, summary: "{ metric, by, min_samples, significance }: the realised metric is at least `by` away from its estimate from the scores, beyond both values' noise (the calibration broke: concept drift)", fields: [
            .init("metric", .string, required: true, allowed: MetricNames.estimated.map { JSONValue.string(String($0.dropFirst("estimated_".count))) }),
            .init("by", .number, required: true, minimum: 0),
            .init("min_samples", .integer, minimum: 1, summary: "fewest labelled rows the window needs; default 100"),
            .init("significance", .number, minimum: 0, maximum: 1, summary: "largest two-sided p-value of the gap against the values' combined standard error; default 0.0005"),
        ]),
        .init("canary_drop", .object, summary: "{ metric, by, min_samples, significance }: a canary worse than the champion it shares the window with", fields: [
            .init("metric", .string, required: true, allowed: (MetricNames.performance + MetricNames.estimated + MetricNames.operational).map(JSONValue.string)),
            .init("by", .number, required: true, minimum: 0),
            .init("min_samples", .integer, minimum: 1, summary: "fewest canary rows (labelled rows for a quality metric) the window needs; default 100"),
            .init("significance", .number, minimum: 0, maximum: 1, summary: "largest one-sided p-value of the drop against both values' combined standard error; default 0.0005"),
        ]),
        .init("slo", .object, summary: "upper bounds on window metrics, such as { latency_p95: 250, error_rate: 0.02 }",
              fields: (MetricNames.operational + MetricNames.performance).map { .init($0, .number) }),
        .init("custom", .list, summary: "[{ metric, min, max }] bounds on any metric", items: .init("bound", .object, fields: [
            .init("metric", .string, required: true), .init("min", .number), .init("max", .number),
        ])),
        .init("multivariate", .any, summary: "true, or { methods: [reconstruction, domain_classifier] }: a multivariate method of the monitor flagged the window", fields: [
            .init("methods", .list, items: .init("method", .string, allowed: ["reconstruction", "domain_classifier"].map(JSONValue.string))),
        ]),
        .init("missing_rate", .number, minimum: 0, maximum: 1, summary: "any feature missing more often than this"),
        .init("quarantined", .integer, minimum: 0, summary: "at least this many rows quarantined at ingest"),
        .init("persistence", .object, summary: "this severity's own { windows, of }", fields: persistence),
        .init("when", .any, summary: "a condition over the window's metrics, or a list of them, each a string or { condition, min_samples }: `estimated_f1 < 0.85`, `estimated_drop(roc_auc) > 0.03`, `estimated_roc_auc.upper < reference.roc_auc.lower`"),
        .init("detector", .object, summary: "{ method, stream, … }: an online detector (adwin, ddm, page_hinkley) over the labelled errors or a feature; holds in the pass that finds a change", fields: detector),
    ]

    /// An online detector's rule: which detector, over which stream, with river's parameter names.
    static let detector: [StepSchema.Parameter] = [
        .init("method", .string, required: true, allowed: ["adwin", "ddm", "page_hinkley"].map(JSONValue.string)),
        .init("stream", .string, summary: "`errors` (the labelled predictions' errors, as labels arrive; the default) or a numeric feature's name"),
        .init("horizon", .duration, summary: "predictions older than this are not read; default 30d"),
        .init("delta", .number, minimum: 0, summary: "adwin: the cut test's confidence (0.002); page_hinkley: the change tolerated (0.005)"),
        .init("clock", .integer, minimum: 1, summary: "adwin: values between checks (32)"),
        .init("max_buckets", .integer, minimum: 2, summary: "adwin: buckets per size (5)"),
        .init("min_window_length", .integer, minimum: 1, summary: "adwin: shortest sub-window (5)"),
        .init("grace_period", .integer, minimum: 0, summary: "adwin: values before the first check (10)"),
        .init("warm_start", .integer, minimum: 0, summary: "ddm: values before any detection (30)"),
        .init("warning_threshold", .number, minimum: 0, summary: "ddm: standard deviations to warn (2)"),
        .init("drift_threshold", .number, minimum: 0, summary: "ddm: standard deviations to detect (3)"),
        .init("min_instances", .integer, minimum: 0, summary: "page_hinkley: values before any detection (30)"),
        .init("threshold", .number, minimum: 0, summary: "page_hinkley: lambda (50)"),
        .init("alpha", .number, minimum: 0, maximum: 1, summary: "page_hinkley: forgetting factor (0.9999)"),
        .init("direction", .string, allowed: ["up", "down", "both"].map(JSONValue.string), summary: "page_hinkley: which change to detect (both)"),
    ]
}
