using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;

namespace Platform.Features;

/// <summary>
/// JSON for feature vectors. A vector may hold NaN (a feature undefined at that bar, e.g. during warm-up), which plain
/// JSON cannot carry and the shared state JSON options refuse to write: <see cref="FeaturesComputed"/> events (whose
/// contract says <c>double</c>) write it as the string <c>"NaN"</c>, which the shared options (numbers readable from
/// strings) and <see cref="Options"/> both read back. The featurestore value and the HTTP API write <c>null</c> instead.
/// </summary>
public static class FeatureJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The event as published on <c>market-features</c>.</summary>
    public static OutgoingEvent ToOutgoing(FeaturesComputed e) =>
        new(e.Topic, e.EventId, nameof(FeaturesComputed), JsonSerializer.SerializeToUtf8Bytes(e, Options), e.PartitionKey);

    /// <summary>Reads a delivered <see cref="FeaturesComputed"/>, NaN included.</summary>
    public static FeaturesComputed ReadFeaturesComputed(CloudEvent e) =>
        JsonSerializer.Deserialize<FeaturesComputed>(e.Data.Span, Options) ?? throw new JsonException($"Event {e.Id} carries null data.");

    /// <summary>NaN (and infinities) as null, for JSON that must stay plain.</summary>
    public static double?[] Nullable(IReadOnlyList<double> values)
    {
        var result = new double?[values.Count];
        for (var i = 0; i < result.Length; i++) result[i] = double.IsFinite(values[i]) ? values[i] : null;
        return result;
    }

    /// <summary>The inverse of <see cref="Nullable"/>: null back to NaN.</summary>
    public static double[] FromNullable(IReadOnlyList<double?> values)
    {
        var result = new double[values.Count];
        for (var i = 0; i < result.Length; i++) result[i] = values[i] ?? double.NaN;
        return result;
    }
}
