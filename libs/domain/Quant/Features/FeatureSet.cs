using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Quant.Features;

/// <summary>
/// A named, versioned, ordered list of features with the text that defines them. <see cref="Hash"/>
/// (SHA-256 of the name, version, ordered feature names and definition) changes whenever any of
/// them does, so stored vectors and trained models can check they were built from the same set.
/// </summary>
public sealed record FeatureSet
{
    public FeatureSet(string name, int version, IEnumerable<string> features, string definition)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        Name = name;
        Version = version;
        Features = [.. features];
        Definition = definition;
        if (Features.Length == 0) throw new ArgumentException("A feature set needs at least one feature.", nameof(features));
        var duplicate = Features.GroupBy(f => f, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Feature '{duplicate.Key}' appears more than once in {Id}.", nameof(features));
        Hash = ComputeHash(name, version, Features, definition);
    }

    public string Name { get; }
    public int Version { get; }
    public ImmutableArray<string> Features { get; }
    public string Definition { get; }

    /// <summary>Lower-case hex SHA-256 of the set's definition.</summary>
    public string Hash { get; }

    /// <summary><c>{name}@{version}</c>, e.g. <c>alpha158@1</c>.</summary>
    public string Id => $"{Name}@{Version}";

    public int Count => Features.Length;

    public int IndexOf(string feature)
    {
        var i = Features.IndexOf(feature, StringComparer.Ordinal);
        return i >= 0 ? i : throw new KeyNotFoundException($"{Id} has no feature '{feature}'.");
    }

    private static string ComputeHash(string name, int version, ImmutableArray<string> features, string definition)
    {
        var text = new StringBuilder();
        text.Append(name).Append('\n').Append(version).Append('\n');
        foreach (var f in features) text.Append(f).Append('\n');
        text.Append('\n').Append(definition);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public bool Equals(FeatureSet? other) => other is not null && Hash == other.Hash;
    public override int GetHashCode() => Hash.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => $"{Id} ({Count} features, sha256 {Hash[..12]})";
}

/// <summary>
/// Streaming computation of a feature set for one symbol. <see cref="Update(Bar)"/> takes bars in
/// strictly increasing time and returns the vector of that bar, which depends only on bars up to it.
/// A batch over a history is a replay of a fresh calculator (<see cref="FeatureBatch.Replay"/>): one computation path.
/// </summary>
public interface IFeatureCalculator
{
    FeatureSet Set { get; }

    /// <summary>Bars after which every feature is computed from a complete window.</summary>
    int WarmUpPeriod { get; }

    bool IsReady { get; }

    /// <summary>Consumes the next bar and returns a new vector in <see cref="FeatureSet.Features"/> order (NaN where undefined).</summary>
    double[] Update(Bar bar);

    /// <summary>As <see cref="Update(Bar)"/>, writing into <paramref name="values"/> to avoid an allocation per bar.</summary>
    void Update(Bar bar, Span<double> values);

    void Reset();
}

/// <summary>Asked for a feature set id the registry does not know.</summary>
public sealed class UnknownFeatureSetException(string requested, IReadOnlyList<string> known)
    : KeyNotFoundException($"Unknown feature set '{requested}'. Known feature sets: {string.Join(", ", known)}.")
{
    public string Requested { get; } = requested;
    public IReadOnlyList<string> Known { get; } = known;
}

/// <summary>The built-in feature sets and their calculators.</summary>
public static class FeatureSets
{
    public static readonly FeatureSet Alpha158V1 = new("alpha158", 1, Alpha158Definition.Names, Alpha158Definition.DefinitionText());
    public static readonly FeatureSet IndicatorsV1 = new("indicators", 1, IndicatorFeatures.Names, IndicatorFeatures.DefinitionText());

    private static readonly ImmutableDictionary<string, (FeatureSet Set, Func<IFeatureCalculator> Create)> Registry =
        new Dictionary<string, (FeatureSet, Func<IFeatureCalculator>)>(StringComparer.Ordinal)
        {
            [Alpha158V1.Id] = (Alpha158V1, () => new Alpha158()),
            [IndicatorsV1.Id] = (IndicatorsV1, () => new IndicatorFeatures()),
        }.ToImmutableDictionary(StringComparer.Ordinal);

    /// <summary>Known ids, e.g. <c>alpha158@1</c>, in ordinal order.</summary>
    public static IReadOnlyList<string> Ids { get; } = [.. Registry.Keys.Order(StringComparer.Ordinal)];

    public static IEnumerable<FeatureSet> All => Ids.Select(id => Registry[id].Set);

    /// <summary>The set with id <c>{name}@{version}</c>.</summary>
    public static FeatureSet Get(string id) => Lookup(id).Set;

    public static FeatureSet Get(string name, int version) => Get($"{name}@{version}");

    public static bool TryGet(string id, out FeatureSet set)
    {
        var found = Registry.TryGetValue(id, out var entry);
        set = entry.Set;
        return found;
    }

    /// <summary>
    /// The feature names of the built-in set <paramref name="id"/> when its definition's hash is <paramref name="hash"/> (or
    /// none is given): what a vector sent without names means. Null for a set or a definition this build does not have.
    /// </summary>
    public static IReadOnlyList<string>? NamesOf(string id, string? hash) =>
        TryGet(id, out var set) && (hash is null || hash == set.Hash) ? set.Features : null;

    /// <summary>A fresh calculator (per-symbol state) for the set <paramref name="id"/>.</summary>
    public static IFeatureCalculator CreateCalculator(string id) => Lookup(id).Create();

    private static (FeatureSet Set, Func<IFeatureCalculator> Create) Lookup(string id) =>
        Registry.TryGetValue(id, out var entry) ? entry : throw new UnknownFeatureSetException(id, Ids);
}

/// <summary>Batch helpers shared by the calculators.</summary>
public static class FeatureBatch
{
    /// <summary>Runs a fresh streaming calculator over <paramref name="bars"/>, one vector per bar.</summary>
    public static double[][] Replay(Func<IFeatureCalculator> create, IReadOnlyList<Bar> bars)
    {
        var calculator = create();
        var result = new double[bars.Count][];
        for (var i = 0; i < bars.Count; i++) result[i] = calculator.Update(bars[i]);
        return result;
    }
}
