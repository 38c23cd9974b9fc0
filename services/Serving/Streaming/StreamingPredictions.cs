using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Quant.Features;
using Platform.Serving.Events;
using Platform.Serving.Models;

namespace Platform.Serving.Streaming;

/// <summary>Configuration section <c>Serving:Streaming</c>.</summary>
public sealed class StreamingOptions
{
    /// <summary>Score the champions on every feature vector the features service computes (off: predictions on request only).</summary>
    public bool Enabled { get; set; }

    /// <summary>Only vectors at this interval are scored: the interval the served models were trained on.</summary>
    public string Interval { get; set; } = "1d";
}

/// <summary>
/// Predictions as bars stream in: on each <see cref="FeaturesComputed"/> (topic <c>market-features</c>, consumer group
/// serving: one replica scores each vector), every champion built on that feature set predicts the vector's symbol at its
/// time, and the predictions are published as <see cref="PredictionMade"/> exactly as answered requests are, with a
/// request id derived from model, version, symbol, interval and time, so a redelivered vector records nothing new.
/// A vector the models cannot use (warm-up: the prediction is undefined; a feature missing) is skipped and counted; a
/// malformed event is dead-lettered; an event whose predictions cannot be published fails and is redelivered.
/// </summary>
public sealed class StreamingPredictions(ModelHost host, PredictionEvents events, StreamingOptions options, ILogger<StreamingPredictions> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private long _scored;
    private long _skipped;

    public long Scored => Interlocked.Read(ref _scored);
    public long Skipped => Interlocked.Read(ref _skipped);

    public static string RequestId(ServedModel model, FeaturesComputed vector) =>
        $"stream:{model.Name}:{model.Version}:{vector.Symbol}:{vector.Interval}:{EventIds.Time(vector.Time)}";

    /// <summary>
    /// The names of a vector's values: the event's own, or for a compact event (schema 2, no names) those of the built-in
    /// feature set it names, when the set's hash is the one the event was computed with; null when neither is known.
    /// </summary>
    public static IReadOnlyList<string>? NamesOf(FeaturesComputed vector) =>
        vector.Names ?? FeatureSets.NamesOf(vector.FeatureSet, vector.SetHash);

    public async Task<DeliveryResult> HandleAsync(CloudEvent e, CancellationToken ct)
    {
        FeaturesComputed? vector;
        try
        {
            vector = JsonSerializer.Deserialize<FeaturesComputed>(e.Data.Span, Json);
        }
        catch (JsonException ex)
        {
            logger.LogWarning("Dead-lettering feature vector {Id}: {Error}", e.Id, ex.Message);
            return DeliveryResult.Drop;
        }
        if (vector?.Values is null || string.IsNullOrEmpty(vector.Symbol) || string.IsNullOrEmpty(vector.FeatureSet))
        {
            logger.LogWarning("Dead-lettering feature vector {Id}: symbol, feature set or values missing", e.Id);
            return DeliveryResult.Drop;
        }
        var names = NamesOf(vector);
        if (names is null || names.Count != vector.Values.Count)
        {
            logger.LogWarning("Dead-lettering feature vector {Id}: {Problem}", e.Id, names is null
                ? $"no names in the event, and '{vector.FeatureSet}' (hash {vector.SetHash}) is not a built-in feature set of this build"
                : $"{names.Count} names for {vector.Values.Count} values");
            return DeliveryResult.Drop;
        }
        if (!string.Equals(vector.Interval, options.Interval, StringComparison.Ordinal)) return DeliveryResult.Success;

        var made = new List<PredictionMade>();
        foreach (var name in host.Snapshot.Models.Keys)
        {
            if (!host.TryLease(name, out var lease)) continue;
            using (lease)
            {
                var model = lease.Model;
                if (model.FeatureSet != vector.FeatureSet) continue;
                var row = model.MapRow(names, vector.Values.Count, i => vector.Values[i], out var missing);
                var value = row is null ? double.NaN : model.Predict(row);
                if (!double.IsFinite(value))
                {
                    Interlocked.Increment(ref _skipped);
                    if (missing is not null) logger.LogWarning("{Model} v{Version} needs feature '{Feature}', which {Set} vectors lack", model.Name, model.Version, missing, vector.FeatureSet);
                    continue;
                }
                made.Add(new PredictionMade(RequestId(model, vector), model.Name, model.Version, vector.Symbol, vector.Time, model.Horizon, value,
                    vector.Interval, model.Target));
            }
        }
        // Throws when an event cannot be published: the vector is then redelivered (its ids make the retry idempotent).
        await events.PublishAsync(made, ct);
        Interlocked.Add(ref _scored, made.Count);
        return DeliveryResult.Success;
    }
}
