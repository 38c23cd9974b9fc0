using System.Reflection;
using System.Text.Json.Serialization;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Registry;

[JsonConverter(typeof(JsonStringEnumConverter<ModelStage>))]
public enum ModelStage { None, Staging, Production, Archived }

/// <summary>Aliases resolved by the registry: <c>champion</c> is the Production version, <c>challenger</c> the Staging one.</summary>
public static class ModelAliases
{
    public const string Champion = "champion";
    public const string Challenger = "challenger";
}

/// <summary>
/// Where a model version came from: enough to rebuild its dataset and compare it with others. <see cref="DataSource"/>
/// says whether the bars came from the offline store or the synthetic market (null: recorded before it was kept).
/// <see cref="Final"/> is the score on the untouched final period <see cref="FinalFrom"/>..<see cref="FinalTo"/> and
/// <see cref="Gate"/> the promotion gate's verdict at registration.
/// </summary>
public sealed record ModelLineage(
    string DatasetFingerprint, string FeatureSet, string FeatureSetHash, string Target, int Horizon,
    IReadOnlyList<string> Symbols, DateTimeOffset From, DateTimeOffset To, string Kind,
    SortedDictionary<string, string> Parameters, int Seed, IReadOnlyList<FoldResult> Folds, MetricSet? Aggregate,
    double? Icir, double? RankIcir, string CodeVersion, string? DataSource = null,
    MetricSet? Final = null, DateTimeOffset? FinalFrom = null, DateTimeOffset? FinalTo = null, string? Gate = null)
{
    /// <summary>The lineage's value of a metric (aggregate over folds, or icir / rank_icir), null when undefined.</summary>
    public double? Score(string metric) => metric.ToLowerInvariant() switch
    {
        "icir" => Icir,
        "rank_icir" => RankIcir,
        _ => Aggregate?.Get(metric),
    };
}

/// <summary>A registered version. <see cref="Stage"/> is filled from the model entry when read through the registry.</summary>
public sealed record ModelVersion(
    string Model, int Version, string? RunId, DateTimeOffset CreatedAt, string ArtifactSha256, long ArtifactLength,
    int ChunkCount, ModelLineage Lineage, ModelStage Stage = ModelStage.None, IReadOnlyList<string>? Aliases = null);

/// <summary>An event waiting to be published (the registry's outbox, committed with the transition).</summary>
public sealed record PendingEvent(string Type, int Version, string Stage, string Alias, string Transition, string ArtifactSha256);

/// <summary>
/// The registry document of one model: versions' stages, aliases, the champion history used by rollback, a revision
/// counter, and the outbox. Every transition is one ETag-guarded write of this document.
/// </summary>
public sealed record ModelEntry(
    string Name, int LatestVersion, Dictionary<int, ModelStage> Stages, int? Champion, int? Challenger,
    List<int> ChampionHistory, int Revision, List<PendingEvent> Pending, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A promotion policy: a challenger must beat the champion on <see cref="Metric"/> by <see cref="MinImprovement"/>
/// (absolute, or a fraction of the champion's |value| when <see cref="Relative"/>).</summary>
public sealed record PromotionPolicy(string Metric = "rank_ic", double MinImprovement = 0.0, bool Relative = false)
{
    public PolicyDecision Evaluate(ModelLineage challenger, ModelLineage? champion)
    {
        var c = challenger.Score(Metric);
        if (c is null) return new(false, $"The challenger has no {Metric}.");
        if (champion is null) return new(true, "No champion: the first Production version.");
        var baseline = champion.Score(Metric);
        if (baseline is null) return new(true, $"The champion has no {Metric}.");
        var higher = MetricSet.HigherIsBetter(Metric);
        var improvement = higher ? c.Value - baseline.Value : baseline.Value - c.Value;
        var required = Relative ? MinImprovement * Math.Abs(baseline.Value) : MinImprovement;
        return improvement > required
            ? new(true, $"{Metric} {c.Value:G4} vs champion {baseline.Value:G4}: improves by {improvement:G4} (> {required:G4}).")
            : new(false, $"{Metric} {c.Value:G4} vs champion {baseline.Value:G4}: improvement {improvement:G4} does not exceed the required {required:G4}.");
    }
}

public sealed record PolicyDecision(bool Allowed, string Reason);

/// <summary>The outcome of a transition: the new stage of the version, the model's entry after it, and a reason.</summary>
public sealed record TransitionResult(string Model, int Version, ModelStage Stage, int? Champion, int? Challenger, string Transition, string Reason);

public sealed record ModelComparison(string Model, ModelVersion A, ModelVersion B, IReadOnlyDictionary<string, double?> Delta);

/// <summary>The registry refused a request (unknown model or version, invalid transition).</summary>
public class RegistryException(string message) : Exception(message);

public sealed class ModelNotFoundException(string message) : RegistryException(message);

/// <summary>Someone else changed the model between read and write (ETag mismatch): re-read and decide again.</summary>
public sealed class RegistryConflictException(string message) : RegistryException(message);

/// <summary>The promotion policy refused the promotion.</summary>
public sealed class PromotionRejectedException(string message, PolicyDecision decision) : RegistryException(message)
{
    public PolicyDecision Decision { get; } = decision;
}

/// <summary>The stored artifact does not match the SHA-256 recorded at registration.</summary>
public sealed class ArtifactIntegrityException(string message) : RegistryException(message);

public static class CodeVersion
{
    /// <summary>The informational version of the running code (set <c>SourceRevisionId</c> at build to include the commit).</summary>
    public static string Current { get; } =
        (Assembly.GetEntryAssembly() ?? typeof(CodeVersion).Assembly).GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CodeVersion).Assembly.GetName().Version?.ToString() ?? "unknown";
}
