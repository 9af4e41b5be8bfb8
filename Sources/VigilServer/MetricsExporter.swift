import Foundation
import Prometheus
import VigilStore

/// `/metrics` in Prometheus's text format, rendered by swift-prometheus from a ``ServiceSnapshot``
/// read at scrape time.
enum MetricsExporter {
    static func render(_ snapshot: ServiceSnapshot) -> String {
        let registry = PrometheusCollectorRegistry()
        /// Sets `vigil_<name>[_<unit>]{labels}` to `value`.
        func set(_ name: String, unit: String = "", _ help: String, _ labels: [(String, String)] = [], _ value: Double) {
            let descriptor = MetricNameDescriptor(namespace: "vigil", metricName: name, unitName: unit, helpText: help)
            registry.makeGauge(descriptor: descriptor, labels: labels).set(value)
        }
        func counts(_ name: String, _ help: String, _ counts: [ServiceSnapshot.Count]) {
            for count in counts { set(name, help, count.labels, count.value) }
        }
        counts("runs", "Runs by workflow and state.", snapshot.runs)
        counts("steps", "Steps by type and state.", snapshot.steps)
        set("queue_depth", "Steps ready and waiting for a worker.", [], snapshot.queueDepth)
        for (quantile, seconds) in snapshot.claimLatency {
            set("claim_latency", unit: "seconds", "Seconds from ready to claimed, over steps started in the last hour.", [("quantile", quantile)], seconds)
        }
        for (type, count, seconds) in snapshot.stepDurations {
            set("step_duration", unit: "seconds_count", "Finished steps by type.", [("type", type)], count)
            set("step_duration", unit: "seconds_sum", "Total seconds of finished steps by type.", [("type", type)], seconds)
        }
        counts("alerts_open", "Open alerts by model, severity and state.", snapshot.openAlerts)
        counts("drift_score", "The latest window's drift score by model and feature.", snapshot.drift)
        counts("model_performance", "The latest window's performance metric by model and metric.", snapshot.performance)
        counts("ingested_rows", "Inference rows loaded, by model.", snapshot.ingested)
        counts("quarantined_rows", "Rows set aside at ingest, by model.", snapshot.quarantined)
        set("notifications_pending", "Notifications waiting to be delivered (first round or a later one).", [], Double(snapshot.notifications.pending))
        set("notifications_oldest_pending_age", unit: "seconds", "Seconds since the oldest pending notification was queued; 0 when none is.", [],
            snapshot.notifications.oldestPendingAge)
        set("notifications_dead", "Dead-lettered notifications not retried yet.", [], Double(snapshot.notifications.dead))
        let deadLetters = MetricNameDescriptor(namespace: "vigil", metricName: "notifications_dead_lettered", unitName: "total",
                                               helpText: "Notifications dead-lettered since the outbox began.")
        registry.makeCounter(descriptor: deadLetters).increment(by: Int64(snapshot.notifications.deadLettered))
        counts("channel_consecutive_failures", "Delivery rounds in a row a channel's receiver did not take.", snapshot.channelFailures)
        return registry.emitToString()
    }
}
