using Platform.Modeling.Targets;

namespace Platform.Modeling.Datasets;

/// <summary>The feature set a dataset was built from: <c>{name}@{version}</c>, its definition hash, column names, warm-up bars.</summary>
public sealed record FeatureSetRef(string Id, string Hash, IReadOnlyList<string> Names, int WarmUpPeriod);

/// <summary>What to build: symbols, the decision-time range (inclusive), the bar interval, features and target.</summary>
public sealed record DatasetSpec(
    IReadOnlyList<string> Symbols, DateTimeOffset From, DateTimeOffset To, string Interval,
    FeatureSetRef Features, TargetSpec Target);

/// <summary>
/// One symbol's inputs: its bars (strictly time-ordered) and its feature rows, each stamped with the time of the bar
/// whose close it was computed at (it may use that bar and earlier ones only).
/// </summary>
public sealed record SymbolInput(string Symbol, IReadOnlyList<Platform.Quant.Bar> Bars,
    IReadOnlyList<DateTimeOffset> FeatureTimes, IReadOnlyList<double[]> FeatureRows);

/// <summary>
/// Model inputs: a row-major float32 matrix (NaN = missing, as XGBoost expects) and auxiliary per-row series the
/// baselines use (<see cref="AuxColumns"/>), all known at the row's decision time.
/// </summary>
public sealed class FeatureFrame
{
    public FeatureFrame(float[] values, int rows, IReadOnlyList<string> names, IReadOnlyDictionary<string, double[]>? aux = null)
    {
        if (values.Length != rows * names.Count)
            throw new ArgumentException($"A {rows} x {names.Count} frame needs {rows * names.Count} values, got {values.Length}.", nameof(values));
        Values = values;
        Rows = rows;
        Names = names;
        Aux = aux ?? new Dictionary<string, double[]>();
    }

    public float[] Values { get; }
    public int Rows { get; }
    public int Columns => Names.Count;
    public IReadOnlyList<string> Names { get; }
    public IReadOnlyDictionary<string, double[]> Aux { get; }

    public ReadOnlySpan<float> Row(int i) => Values.AsSpan(i * Columns, Columns);

    public double[] AuxOrNaN(string name)
    {
        if (Aux.TryGetValue(name, out var a)) return a;
        var nan = new double[Rows];
        Array.Fill(nan, double.NaN);
        return nan;
    }
}

/// <summary>Names of the auxiliary series a dataset carries next to its features.</summary>
public static class AuxColumns
{
    /// <summary>The most recent fully realised target at decision time (the target of the row h bars earlier).</summary>
    public const string LastTarget = "last_target";
    /// <summary>Trailing realized volatility over 1, 5 and 22 bars, scaled to the horizon (HAR-RV regressors).</summary>
    public const string Rv1 = "rv_1";
    public const string Rv5 = "rv_5";
    public const string Rv22 = "rv_22";

    public static readonly IReadOnlyList<string> All = [LastTarget, Rv1, Rv5, Rv22];
}

/// <summary>
/// A point-in-time dataset: one row per (symbol, decision time), ordered by time then symbol. Row i's features were
/// known at <see cref="Times"/>[i]; its label is realised at <see cref="LabelEnd"/>[i] (strictly later).
/// </summary>
public sealed class Dataset
{
    internal Dataset(DatasetSpec spec, string fingerprint, FeatureFrame frame, double[] labels, DateTimeOffset[] times,
        DateTimeOffset[] labelEnd, int[] symbolIndex, IReadOnlyList<string> symbols)
    {
        Spec = spec;
        Fingerprint = fingerprint;
        Frame = frame;
        Labels = labels;
        Times = times;
        LabelEnd = labelEnd;
        SymbolIndex = symbolIndex;
        Symbols = symbols;
    }

    public DatasetSpec Spec { get; }
    /// <summary>
    /// SHA-256 (hex) identifying the dataset: by default of the spec (symbols, range, interval, feature set id and hash,
    /// target and horizon); a builder that hashes the data itself sets it with <see cref="WithFingerprint"/>.
    /// </summary>
    public string Fingerprint { get; }

    /// <summary>The same rows under another fingerprint (one that also covers the data, not only the spec).</summary>
    public Dataset WithFingerprint(string fingerprint) => new(Spec, fingerprint, Frame, Labels, Times, LabelEnd, SymbolIndex, Symbols);
    public FeatureFrame Frame { get; }
    public double[] Labels { get; }
    public DateTimeOffset[] Times { get; }
    public DateTimeOffset[] LabelEnd { get; }
    public int[] SymbolIndex { get; }
    public IReadOnlyList<string> Symbols { get; }
    public int Rows => Labels.Length;
    public TargetSpec Target => Spec.Target;

    /// <summary>The distinct decision times, ascending.</summary>
    public DateTimeOffset[] DistinctTimes() => Times.Distinct().Order().ToArray();

    /// <summary>Copies the given rows (in order) into a new frame and label vector.</summary>
    public (FeatureFrame Frame, double[] Labels) Take(IReadOnlyList<int> rows)
    {
        var cols = Frame.Columns;
        var values = new float[rows.Count * cols];
        var labels = new double[rows.Count];
        for (var k = 0; k < rows.Count; k++)
        {
            Frame.Row(rows[k]).CopyTo(values.AsSpan(k * cols, cols));
            labels[k] = Labels[rows[k]];
        }
        var aux = new Dictionary<string, double[]>();
        foreach (var (name, series) in Frame.Aux)
        {
            var a = new double[rows.Count];
            for (var k = 0; k < rows.Count; k++) a[k] = series[rows[k]];
            aux[name] = a;
        }
        return (new FeatureFrame(values, rows.Count, Frame.Names, aux), labels);
    }
}
