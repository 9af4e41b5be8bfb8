import Foundation
import Prometheus
import VigilStore

/// `/metrics` in Prometheus's text format, rendered by swift-prometheus from a ``ServiceSnapshot``
/// read at scrape time.
enum MetricsExporter {
    static func render(_ snapshot: ServiceSnapshot) -> String {
        let registry = PrometheusCollectorRegistry()
        func gauges(_ name: String, _ help: String, _ counts: [ServiceSnapshot.Count]) {
            for count in counts { registry.makeGauge(name: name, labels: count.labels, help: help).set(count.value) }
        }
        gauges("vigil_runs", "Runs by workflow and state.", snapshot.runs)
        gauges("vigil_steps", "Steps by type and state.", snapshot.steps)
        registry.makeGauge(name: "vigil_queue_depth", help: "Steps ready and waiting for a worker.").set(snapshot.queueDepth)
        for (quantile, seconds) in snapshot.claimLatency {
            registry.makeGauge(name: "vigil_claim_latency_seconds", labels: [("quantile", quantile)],
                               help: "Seconds from ready to claimed, over steps started in the last hour.").set(seconds)
        }
        for (type, count, seconds) in snapshot.stepDurations {
            registry.makeGauge(name: "vigil_step_duration_seconds_count", labels: [("type", type)], help: "Finished steps by type.").set(count)
            registry.makeGauge(name: "vigil_step_duration_seconds_sum", labels: [("type", type)], help: "Total seconds of finished steps by type.").set(seconds)
        }
        gauges("vigil_alerts_open", "Open alerts by model, severity and state.", snapshot.openAlerts)
        gauges("vigil_drift_score", "The latest window's drift score by model and feature.", snapshot.drift)
        gauges("vigil_model_performance", "The latest window's performance metric by model and metric.", snapshot.performance)
        gauges("vigil_ingested_rows", "Inference rows loaded, by model.", snapshot.ingested)
        gauges("vigil_quarantined_rows", "Rows set aside at ingest, by model.", snapshot.quarantined)
        return registry.emitToString()
    }
}
