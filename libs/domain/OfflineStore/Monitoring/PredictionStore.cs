namespace Platform.OfflineStore.Monitoring;

/// <summary>
/// A prediction as served: the model version, the symbol and bar interval, the decision time (the bar whose features
/// were used), the horizon in bars, the target kind (<c>return</c>, <c>direction</c>, <c>volatility</c>) and the value.
/// </summary>
public sealed record PredictionRecord(
    string RequestId, string Model, int Version, string Symbol, string Interval, DateTimeOffset Time, int Horizon,
    string Target, double Value, DateTimeOffset ReceivedAt);

/// <summary>
/// The realised target of a prediction, computed once its horizon has passed, and the live baselines on the same
/// date: <see cref="Last"/> is the same target over the h bars ending at the decision bar (known at decision time),
/// <see cref="Trailing"/> a 22-bar trailing estimate (volatility: trailing realised volatility scaled to the horizon;
/// return: the trailing mean one-bar return times the horizon; direction: the trailing share of up bars).
/// </summary>
public sealed record OutcomeRecord(string RequestId, double Realised, double Last, double Trailing, DateTimeOffset KnownAt, DateTimeOffset JoinedAt);

public sealed record PredictionWithOutcome(PredictionRecord Prediction, OutcomeRecord? Outcome);

/// <summary>
/// Which stored predictions to read: one model (and optionally one version), decision times in [From, To), newest
/// first. <see cref="Before"/> is the paging cursor (decision time, request id) of the last row of the previous page.
/// </summary>
public sealed record PredictionQuery(string Model, int? Version = null, DateTimeOffset? From = null, DateTimeOffset? To = null,
    bool JoinedOnly = false, int Limit = 100, (DateTimeOffset Time, string RequestId)? Before = null);

/// <summary>A prediction event that was refused (malformed, unknown model) and dead-lettered, with the reason.</summary>
public sealed record RejectedPrediction(string EventId, string Reason, string Payload, DateTimeOffset RejectedAt);

/// <summary>One drift statistic over a window: what was measured, its value and the threshold it was held against.</summary>
public sealed record DriftEvidence(string Subject, string Statistic, double Value, double Threshold);

/// <summary>A drift detection: one per model and window end (the id is deterministic).</summary>
public sealed record DriftRecord(
    string EventId, string Model, int Version, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, int WindowSize,
    IReadOnlyList<DriftEvidence> Evidence, DateTimeOffset DetectedAt);

/// <summary>
/// The monitoring tables of the offline store: predictions, their outcomes, refused prediction events and drift
/// detections. Every write is idempotent by its key, so a redelivered event changes nothing.
/// </summary>
public interface IPredictionStore
{
    /// <summary>Creates or migrates the schema; idempotent.</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>Stores predictions whose request id is new; returns how many were new.</summary>
    Task<int> AddPredictionsAsync(IReadOnlyList<PredictionRecord> predictions, CancellationToken ct = default);

    /// <summary>
    /// Predictions of one series that have no outcome yet and were made before <paramref name="before"/>, oldest first
    /// (by time, then request id), at most <paramref name="limit"/>; with <paramref name="after"/>, only those after that
    /// (time, request id), so a caller can page past predictions it cannot settle yet.
    /// </summary>
    Task<IReadOnlyList<PredictionRecord>> GetPendingAsync(string symbol, string interval, DateTimeOffset before, int limit,
        (DateTimeOffset Time, string RequestId)? after = null, CancellationToken ct = default);

    /// <summary>Stores outcomes whose prediction has none yet (an outcome is never rewritten); returns how many were new.</summary>
    Task<int> AddOutcomesAsync(IReadOnlyList<OutcomeRecord> outcomes, CancellationToken ct = default);

    Task<IReadOnlyList<PredictionWithOutcome>> QueryAsync(PredictionQuery query, CancellationToken ct = default);

    /// <summary>Counts of stored predictions and of those joined with an outcome.</summary>
    Task<(long Predictions, long Outcomes)> CountAsync(string? model = null, CancellationToken ct = default);

    /// <summary>Records a refused event; a second refusal of the same event id keeps the first reason.</summary>
    Task RecordRejectedAsync(RejectedPrediction rejected, CancellationToken ct = default);

    Task<IReadOnlyList<RejectedPrediction>> GetRejectedAsync(int limit, CancellationToken ct = default);

    /// <summary>Stores a detection; false when one with the same id exists (nothing is changed).</summary>
    Task<bool> AddDriftAsync(DriftRecord drift, CancellationToken ct = default);

    /// <summary>Detections of a model, newest window first.</summary>
    Task<IReadOnlyList<DriftRecord>> GetDriftAsync(string model, int limit, CancellationToken ct = default);
}
