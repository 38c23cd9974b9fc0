using System.Text;
using System.Text.Json;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Monitoring.Outcomes;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.Quant;

namespace Platform.Monitoring.Predictions;

/// <summary>
/// Consumes <c>predictions</c>: a valid <see cref="PredictionMade"/> of a registered version is stored (a redelivery
/// changes nothing); anything else (not JSON, missing or invalid fields, unknown model or version, a target or horizon
/// that disagrees with the registry) is recorded with its reason and dead-lettered, so it neither blocks the topic
/// nor disappears. A prediction that arrives after the bars that settle it (a replay at full speed, a consumer catching
/// up) is joined at once: no later bar of its series may come to trigger the join.
/// </summary>
public sealed class PredictionIntake(IPredictionStore store, ModelCatalog catalog, IBarReader bars, OutcomeJoiner joiner, MonitoringMetrics metrics,
    TimeProvider clock, ILogger<PredictionIntake> logger)
{
    public async Task<DeliveryResult> HandleAsync(CloudEvent e, CancellationToken ct)
    {
        var (record, reason) = await ValidateAsync(e, ct);
        if (record is null)
        {
            await store.RecordRejectedAsync(new RejectedPrediction(e.Id, reason!, Encoding.UTF8.GetString(e.Data.Span), clock.GetUtcNow()), ct);
            metrics.Rejected(reason!);
            logger.LogWarning("Dead-lettering prediction event {Id}: {Reason}", e.Id, reason);
            return DeliveryResult.Drop;
        }
        if (await store.AddPredictionsAsync([record], ct) > 0) metrics.PredictionStored(record.Model);
        // The bar at which the horizon passes, if it is stored already: joined as if that bar had just closed, so drift is
        // evaluated at the window end the prediction's outcome belongs to.
        var settling = await bars.GetBarsAsync(new BarQuery(record.Symbol, BarInterval.Parse(record.Interval), record.Time, Limit: record.Horizon + 1), ct);
        // A prediction between bars was decided on the bar before its time, so its horizon ends one stored bar earlier.
        var settles = settling.Count > 0 && settling[0].Time == record.Time ? record.Horizon : record.Horizon - 1;
        if (settles >= 0 && settling.Count > settles) await joiner.JoinAsync(record.Symbol, record.Interval, settling[settles].Time, ct);
        return DeliveryResult.Success;
    }

    internal async Task<(PredictionRecord? Record, string? Reason)> ValidateAsync(CloudEvent e, CancellationToken ct)
    {
        if (e.Type != nameof(PredictionMade)) return (null, $"Unexpected event type '{e.Type}' on '{Topics.Predictions}'.");
        PredictionMade? p;
        try
        {
            p = e.DataAs<PredictionMade>();
        }
        catch (JsonException ex)
        {
            return (null, $"Malformed PredictionMade: {ex.Message}");
        }
        if (p is null) return (null, "Malformed PredictionMade: null data.");
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(p.RequestId)) problems.Add("requestId is missing");
        if (string.IsNullOrWhiteSpace(p.Model)) problems.Add("model is missing");
        if (string.IsNullOrWhiteSpace(p.Symbol)) problems.Add("symbol is missing");
        if (p.Version < 1) problems.Add($"version {p.Version} is not a version");
        if (p.Horizon < 1) problems.Add($"horizon {p.Horizon} is below one bar");
        if (!double.IsFinite(p.Value)) problems.Add($"value {p.Value} is not finite");
        if (p.Time == default) problems.Add("time is missing");
        var interval = BarInterval.OneDay;
        if (p.Interval is not null && !BarInterval.TryParse(p.Interval, out interval)) problems.Add($"interval '{p.Interval}' is not an interval");
        if (problems.Count > 0) return (null, "Invalid PredictionMade: " + string.Join("; ", problems) + ".");

        var facts = await catalog.FindAsync(p.Model, p.Version, ct);
        if (facts is null)
        {
            return (null, await catalog.IsRegisteredAsync(p.Model, ct)
                ? $"Unknown version: model '{p.Model}' has no version {p.Version}."
                : $"Unknown model '{p.Model}': it is not in the registry.");
        }
        if (p.Target is not null && !string.Equals(p.Target, facts.Target, StringComparison.OrdinalIgnoreCase))
            return (null, $"Target '{p.Target}' disagrees with the registry: {p.Model} v{p.Version} predicts '{facts.Target}'.");
        if (p.Horizon != facts.Horizon)
            return (null, $"Horizon {p.Horizon} disagrees with the registry: {p.Model} v{p.Version} predicts {facts.Horizon} bars ahead.");
        return (new PredictionRecord(p.RequestId, p.Model, p.Version, p.Symbol, interval.Name, p.Time, p.Horizon, facts.Target, p.Value,
            clock.GetUtcNow()), null);
    }
}
