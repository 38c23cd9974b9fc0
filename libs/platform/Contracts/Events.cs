using System.Globalization;
using System.Text.Json.Serialization;

namespace Platform.Contracts;

/// <summary>
/// An event published on a topic. <see cref="EventId"/> is the deterministic business key used as the
/// CloudEvent id, so a redelivered or re-published event is recognisable and handlers stay idempotent.
/// </summary>
public interface IIntegrationEvent
{
    string EventId { get; }
    string Topic { get; }
    /// <summary>Partition key (Kafka) that keeps related events in order; null when order does not matter.</summary>
    string? PartitionKey { get; }
}

/// <summary>How times appear in event ids (and ids derived from them): round-trip ISO 8601 in UTC.</summary>
public static class EventIds
{
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
}

/// <summary>A bar that has closed, live or replayed.</summary>
public sealed record BarClosed(
    string Symbol, string Interval, DateTimeOffset Time,
    double Open, double High, double Low, double Close, double Volume,
    double? Vwap = null, string? ReplayId = null) : IIntegrationEvent
{
    public const string TopicName = Topics.MarketBars;
    public const int SchemaVersion = 1;
    public string EventId => $"bar:{Symbol}:{Interval}:{EventIds.Time(Time)}";
    public string Topic => TopicName;
    public string? PartitionKey => Symbol;
}

/// <summary>A bulk load: consumers recompute the range in batch instead of one event per bar.</summary>
public sealed record BarsImported(
    string ImportId, string Symbol, string Interval, DateTimeOffset From, DateTimeOffset To, long Count) : IIntegrationEvent
{
    public const string TopicName = Topics.MarketBars;
    public const int SchemaVersion = 1;
    public string EventId => $"import:{ImportId}";
    public string Topic => TopicName;
    public string? PartitionKey => Symbol;
}

/// <summary>
/// A feature vector computed for one bar. <see cref="FeatureSet"/> is <c>{name}@{version}</c>.
/// <para>Schema 2 (compact): <see cref="Values"/> travel as one base64 string of little-endian IEEE-754 doubles (NaN and
/// infinities as they are), and <see cref="Names"/> is left out (null) when the vector is in the order of a built-in
/// feature set (<c>Platform.Quant.Features.FeatureSets</c>), whose definition <see cref="SetHash"/> names: a consumer
/// takes the names from that set after checking the hash. A vector of any other set carries its names. Readers also
/// accept schema 1 (names always present, values a JSON array of numbers with <c>"NaN"</c> strings).</para>
/// </summary>
public sealed record FeaturesComputed(
    string Symbol, string Interval, DateTimeOffset Time, string FeatureSet,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Names,
    [property: JsonConverter(typeof(PackedDoublesJsonConverter))] IReadOnlyList<double> Values,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SetHash = null) : IIntegrationEvent
{
    public const string TopicName = Topics.MarketFeatures;
    public const int SchemaVersion = 2;
    public string EventId => $"feat:{FeatureSet}:{Symbol}:{Interval}:{EventIds.Time(Time)}";
    public string Topic => TopicName;
    public string? PartitionKey => Symbol;
}

public sealed record ModelRegistered(
    string Model, int Version, string Stage, string ArtifactSha256) : IIntegrationEvent
{
    public const string TopicName = Topics.ModelRegistered;
    public const int SchemaVersion = 1;
    public string EventId => $"model:{Model}:{Version}:registered";
    public string Topic => TopicName;
    public string? PartitionKey => Model;
}

/// <summary>A stage or alias change. <see cref="Transition"/> names it (for example <c>promoted-production</c>, <c>rollback</c>).</summary>
public sealed record ModelPromoted(
    string Model, int Version, string Stage, string Alias, string ArtifactSha256, string Transition) : IIntegrationEvent
{
    public const string TopicName = Topics.ModelPromoted;
    public const int SchemaVersion = 1;
    public string EventId => $"model:{Model}:{Version}:{Transition}";
    public string Topic => TopicName;
    public string? PartitionKey => Model;
}

/// <summary>
/// A prediction served. <see cref="Time"/> is the decision time (the bar whose features were used); <see cref="Interval"/>
/// and <see cref="Target"/> (<c>return</c>, <c>direction</c>, <c>volatility</c>) say which realised value it will be
/// compared with once <see cref="Horizon"/> bars have passed.
/// </summary>
public sealed record PredictionMade(
    string RequestId, string Model, int Version, string Symbol, DateTimeOffset Time, int Horizon, double Value,
    string? Interval = null, string? Target = null) : IIntegrationEvent
{
    public const string TopicName = Topics.Predictions;
    public const int SchemaVersion = 1;
    public string EventId => $"pred:{RequestId}";
    public string Topic => TopicName;
    public string? PartitionKey => Symbol;
}

/// <summary>
/// Drift of a model's live inputs or outputs over a window (one event per model and window end). <see cref="Statistic"/>
/// and <see cref="Value"/> are the strongest breach, <see cref="Features"/> the subjects in breach, strongest first;
/// <see cref="Evidence"/> lists every statistic measured on the window with its threshold.
/// </summary>
public sealed record DriftDetected(
    string Model, IReadOnlyList<string> Features, string Statistic, double Value,
    DateTimeOffset WindowStart, DateTimeOffset WindowEnd,
    int? Version = null, double? Threshold = null, int? WindowSize = null, IReadOnlyList<DriftStatistic>? Evidence = null) : IIntegrationEvent
{
    public const string TopicName = Topics.DriftDetected;
    public const int SchemaVersion = 1;
    public string EventId => $"drift:{Model}:{EventIds.Time(WindowEnd)}";
    public string Topic => TopicName;
    public string? PartitionKey => Model;
}

/// <summary>One statistic of a drift window: what it measured (<c>prediction</c>, <c>target</c>, a feature name), the value and its threshold.</summary>
public sealed record DriftStatistic(string Subject, string Statistic, double Value, double Threshold)
{
    public bool Breached => Value > Threshold;
}
