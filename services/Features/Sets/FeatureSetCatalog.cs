using Microsoft.Extensions.Options;
using Platform.Quant.Features;

namespace Platform.Features.Sets;

/// <summary>Settings of the features service (section <c>Features</c>).</summary>
public sealed class FeaturesOptions
{
    public const string Section = "Features";

    /// <summary>
    /// The feature sets computed for every bar, <c>{name}@{version}</c>. Default: both built-in sets (Alpha158 and the
    /// indicator vector cost about 3 µs of CPU per bar together). The first one is the API's default <c>set</c>.
    /// </summary>
    public List<string> Sets { get; set; } = [];

    /// <summary>The API's default <c>interval</c>.</summary>
    public string DefaultInterval { get; set; } = "1d";

    /// <summary>Feature-history rows written per transaction during a batch recompute.</summary>
    public int HistoryChunkRows { get; set; } = 2000;

    public static readonly IReadOnlyList<string> DefaultSets = [FeatureSets.Alpha158V1.Id, FeatureSets.IndicatorsV1.Id];
}

/// <summary>A known feature set whose hash is not the one the caller recorded (its definition changed under the same id).</summary>
public sealed class FeatureSetMismatchException(FeatureSet set, string expectedHash)
    : Exception($"Feature set '{set.Id}' has hash {set.Hash}, not {expectedHash} as recorded: the values would not mean what the model was trained on.")
{
    public FeatureSet Set { get; } = set;
    public string ExpectedHash { get; } = expectedHash;
}

/// <summary>A known feature set that this deployment does not compute (not in <c>Features:Sets</c>).</summary>
public sealed class FeatureSetNotComputedException(string id, IReadOnlyList<string> computed)
    : KeyNotFoundException($"Feature set '{id}' is known but not computed here. Computed feature sets: {string.Join(", ", computed)} (configure Features:Sets).")
{
    public string Id { get; } = id;
}

/// <summary>
/// The feature sets this service computes (<c>Features:Sets</c>), checked against the built-in registry at start-up:
/// an unknown id fails the start with <see cref="UnknownFeatureSetException"/>.
/// </summary>
public sealed class FeatureSetCatalog
{
    public FeatureSetCatalog(IOptions<FeaturesOptions> options)
        : this(options.Value.Sets.Count > 0 ? options.Value.Sets : FeaturesOptions.DefaultSets, options.Value.DefaultInterval)
    {
    }

    public FeatureSetCatalog(IEnumerable<string> ids, string defaultInterval = "1d")
    {
        DefaultInterval = defaultInterval;
        Computed = ids.Select(id => id.Trim()).Where(id => id.Length > 0).Distinct(StringComparer.Ordinal).Select(id => FeatureSets.Get(id)).ToList();
        if (Computed.Count == 0) throw new InvalidOperationException("Features:Sets names no feature set.");
    }

    /// <summary>The configured sets, in configuration order.</summary>
    public IReadOnlyList<FeatureSet> Computed { get; }

    public FeatureSet Default => Computed[0];

    /// <summary>The API's interval when a request names none.</summary>
    public string DefaultInterval { get; }

    public IReadOnlyList<string> ComputedIds => Computed.Select(s => s.Id).ToList();

    public bool IsComputed(string id) => Computed.Any(s => s.Id == id);

    /// <summary>True when <paramref name="id"/> has the <c>{name}@{version}</c> shape (version a positive integer).</summary>
    public static bool IsWellFormed(string id)
    {
        var at = id.IndexOf('@');
        return at > 0 && at < id.Length - 1 && id.IndexOf('@', at + 1) < 0
            && int.TryParse(id.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 1;
    }

    /// <summary>
    /// The computed set <paramref name="id"/>, optionally checked against the hash a model recorded. Throws
    /// <see cref="UnknownFeatureSetException"/> (no such set), <see cref="FeatureSetNotComputedException"/> (known, not
    /// computed here) or <see cref="FeatureSetMismatchException"/> (hash differs).
    /// </summary>
    public FeatureSet Resolve(string id, string? expectedHash = null)
    {
        var set = FeatureSets.Get(id);
        if (!IsComputed(id)) throw new FeatureSetNotComputedException(id, ComputedIds);
        if (expectedHash is { Length: > 0 } && !string.Equals(expectedHash, set.Hash, StringComparison.OrdinalIgnoreCase))
            throw new FeatureSetMismatchException(set, expectedHash);
        return set;
    }
}
