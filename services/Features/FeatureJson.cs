using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Quant.Features;

namespace Platform.Features;

/// <summary>
/// JSON for feature vectors. A vector may hold NaN (a feature undefined at that bar, e.g. during warm-up), which plain
/// JSON numbers cannot carry: <see cref="FeaturesComputed"/> events pack their values into a base64 string of doubles
/// (<see cref="PackedDoublesJsonConverter"/>, NaN exact, any options read and write it). The featurestore value and the
/// HTTP API write <c>null</c> instead.
/// </summary>
public static class FeatureJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The event as published on <c>market-features</c> (names included when the event has them).</summary>
    public static OutgoingEvent ToOutgoing(FeaturesComputed e) =>
        new(e.Topic, e.EventId, nameof(FeaturesComputed), JsonPayload.Write(e, static (writer, e) => JsonSerializer.Serialize(writer, e, Options)), e.PartitionKey);

    /// <summary>
    /// The compact event of a vector of <paramref name="set"/> (schema 2: no names, the set's hash, values packed), byte for
    /// byte what <see cref="ToOutgoing(FeaturesComputed)"/> writes for it, written directly through the bus's checking
    /// writer (<see cref="JsonPayload"/>), so publishing does not read it through again. The streaming pipeline publishes
    /// one per bar and set. Consumers take the names from the set (<see cref="ResolveNames"/>).
    /// </summary>
    public static OutgoingEvent ToOutgoing(FeatureSet set, string symbol, string interval, DateTimeOffset time, double[] values)
    {
        var e = new FeaturesComputed(symbol, interval, time, set.Id, null, values, set.Hash);
        var id = e.EventId;
        var data = JsonPayload.Write((e, id), static (writer, s) =>
        {
            var (e, id) = s;
            writer.WriteStartObject();
            writer.WriteString("symbol", e.Symbol);
            writer.WriteString("interval", e.Interval);
            writer.WriteString("time", e.Time);
            writer.WriteString("featureSet", e.FeatureSet);
            writer.WritePropertyName("values");
            PackedDoublesJsonConverter.Write(writer, e.Values);
            writer.WriteString("setHash", e.SetHash);
            writer.WriteString("eventId", id);
            writer.WriteString("topic", e.Topic);
            writer.WriteString("partitionKey", e.PartitionKey);
            writer.WriteEndObject();
        });
        return new OutgoingEvent(e.Topic, id, nameof(FeaturesComputed), data, e.PartitionKey);
    }

    /// <summary>
    /// The names of a delivered vector's values: its own, or (compact events) those of the built-in set it names when the
    /// set's hash matches; null when neither is known (a set or definition this build does not have).
    /// </summary>
    public static IReadOnlyList<string>? ResolveNames(FeaturesComputed e) =>
        e.Names ?? FeatureSets.NamesOf(e.FeatureSet, e.SetHash);

    /// <summary>
    /// The featurestore value of a vector, byte for byte what the state JSON writes for an <c>OnlineFeatureVector</c> (NaN as
    /// null), with the names copied from their encoding once per set.
    /// </summary>
    public static byte[] SerializeOnlineVector(FeatureSet set, string symbol, string interval, DateTimeOffset time, double[] values)
    {
        var buffer = new ArrayBufferWriter<byte>(EncodedNames(set).Length + values.Length * 24 + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("set", set.Id);
            writer.WriteString("setHash", set.Hash);
            writer.WriteString("symbol", symbol);
            writer.WriteString("interval", interval);
            writer.WriteString("time", time);
            writer.WritePropertyName("names");
            writer.WriteRawValue(EncodedNames(set), skipInputValidation: true);
            writer.WriteStartArray("values");
            foreach (var v in values)
            {
                if (double.IsFinite(v)) writer.WriteNumberValue(v);
                else writer.WriteNullValue();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static readonly ConditionalWeakTable<FeatureSet, byte[]> Names = new();

    private static byte[] EncodedNames(FeatureSet set) =>
        Names.GetValue(set, s => JsonSerializer.SerializeToUtf8Bytes<IReadOnlyList<string>>(s.Features, Options));

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
