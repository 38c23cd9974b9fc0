using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Platform.Monitoring;

/// <summary>
/// The loop's Prometheus metrics (meter <c>Platform.Monitoring</c>, exported by the service defaults): predictions
/// stored, outcomes joined, refused events, drift detections, window ends a catching-up join left out, the latest PSI and KS per model and subject (target,
/// prediction, the features with the largest PSI), the other drift statistics (quality decay, share of drifting features)
/// and the live IC over the drift window.
/// </summary>
public sealed class MonitoringMetrics : IDisposable
{
    public const string MeterName = "Platform.Monitoring";
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _predictions;
    private readonly Counter<long> _outcomes;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _drift;
    private readonly Counter<long> _skipped;
    private readonly ConcurrentDictionary<(string Model, string Subject, string Statistic), double> _latest = new();
    private readonly ConcurrentDictionary<(string Model, int Window), double> _ic = new();

    public MonitoringMetrics()
    {
        _predictions = _meter.CreateCounter<long>("monitoring_predictions_stored", description: "Prediction events stored (new request ids).");
        _outcomes = _meter.CreateCounter<long>("monitoring_outcomes_joined", description: "Predictions joined with their realised target.");
        _rejected = _meter.CreateCounter<long>("monitoring_predictions_rejected", description: "Prediction events dead-lettered.");
        _drift = _meter.CreateCounter<long>("monitoring_drift_detected", description: "Drift detections (new windows).");
        _skipped = _meter.CreateCounter<long>("monitoring_drift_windows_skipped",
            description: "Window ends a catching-up join settled but did not evaluate (Monitoring:Drift:MaxEvaluationsPerJoin).");
        _meter.CreateObservableGauge("monitoring_drift_psi", () => Latest(s => s == "psi"), description: "Latest PSI per model and subject.");
        _meter.CreateObservableGauge("monitoring_drift_ks", () => Latest(s => s == "ks"), description: "Latest KS statistic per model and subject.");
        _meter.CreateObservableGauge("monitoring_drift_statistic", () => _latest.Where(kv => kv.Key.Statistic is not ("psi" or "ks")).Select(kv =>
            new Measurement<double>(kv.Value, new("model", kv.Key.Model), new("subject", kv.Key.Subject), new("statistic", kv.Key.Statistic))),
            description: "Latest value of the other drift statistics (quality decay, share of drifting features) per model.");
        _meter.CreateObservableGauge("monitoring_live_ic", () => _ic.Select(kv =>
            new Measurement<double>(kv.Value, new("model", kv.Key.Model), new("window", kv.Key.Window))),
            description: "Live IC of the model over its latest quality windows (as last computed).");
        // Counters exist from the start (at zero), so rate() and increase() in the alert rules and dashboards have a series
        // to work on before the first outcome, rejection, detection or skipped window.
        _outcomes.Add(0);
        _rejected.Add(0);
        _drift.Add(0);
        _skipped.Add(0);
    }

    public void PredictionStored(string model) => _predictions.Add(1, new KeyValuePair<string, object?>("model", model));
    public void OutcomesJoined(int count) { if (count > 0) _outcomes.Add(count); }
    public void Rejected(string reason) =>
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason.StartsWith("Unknown", StringComparison.Ordinal) ? "unknown-model" : "invalid"));
    public void DriftDetected(string model) => _drift.Add(1, new KeyValuePair<string, object?>("model", model));
    public void DriftWindowsSkipped(string model, int count) => _skipped.Add(count, new KeyValuePair<string, object?>("model", model));
    /// <summary>Records the statistics of one evaluated subject (NaN values are skipped).</summary>
    public void Drift(string model, IEnumerable<Platform.Contracts.DriftStatistic> evidence)
    {
        foreach (var e in evidence)
        {
            if (double.IsFinite(e.Value)) _latest[(model, e.Subject, e.Statistic)] = e.Value;
        }
    }
    public void LiveIc(string model, int window, double? ic) { if (ic is { } v) _ic[(model, window)] = v; }

    private IEnumerable<Measurement<double>> Latest(Func<string, bool> statistic) => _latest.Where(kv => statistic(kv.Key.Statistic)).Select(kv =>
        new Measurement<double>(kv.Value, new("model", kv.Key.Model), new("subject", kv.Key.Subject)));

    public void Dispose() => _meter.Dispose();
}
