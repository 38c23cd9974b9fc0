using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Datasets;

/// <summary>
/// Joins feature rows and forward targets point-in-time. A row is kept when its feature time is a bar time of the
/// symbol, the feature calculator had warmed up (bar index + 1 &gt;= warm-up), the decision time is in [From, To],
/// and its label is fully realised by <c>To</c> (so a dataset cut at To never sees a price after To). The label
/// uses bars strictly after the decision bar only.
/// </summary>
public static class DatasetBuilder
{
    /// <summary>One dataset pooled across the spec's symbols (rows ordered by time, then symbol).</summary>
    public static Dataset Build(DatasetSpec spec, IReadOnlyList<SymbolInput> inputs)
    {
        spec.Target.Validate();
        if (spec.Symbols.Count == 0) throw new ArgumentException("A dataset needs at least one symbol.", nameof(spec));
        if (spec.To < spec.From) throw new ArgumentException($"The range is empty: {spec.From:o} > {spec.To:o}.", nameof(spec));
        var bySymbol = inputs.ToDictionary(i => i.Symbol, StringComparer.Ordinal);
        var cols = spec.Features.Names.Count;
        var rows = new List<(DateTimeOffset Time, int Symbol, double[] X, double Y, DateTimeOffset LabelEnd, double[] Aux)>();
        for (var s = 0; s < spec.Symbols.Count; s++)
        {
            var symbol = spec.Symbols[s];
            if (!bySymbol.TryGetValue(symbol, out var input))
                throw new ArgumentException($"No input for symbol '{symbol}'.", nameof(inputs));
            if (input.FeatureTimes.Count != input.FeatureRows.Count)
                throw new ArgumentException($"{symbol}: {input.FeatureTimes.Count} feature times but {input.FeatureRows.Count} feature rows.", nameof(inputs));
            var bars = input.Bars;
            var index = new Dictionary<DateTimeOffset, int>(bars.Count);
            for (var i = 0; i < bars.Count; i++)
            {
                if (i > 0 && bars[i].Time <= bars[i - 1].Time)
                    throw new ArgumentException($"{symbol}: bars are not strictly time-ordered at {bars[i].Time:o}.", nameof(inputs));
                index[bars[i].Time] = i;
            }
            var h = spec.Target.Horizon;
            var y = Targets.Targets.Compute(bars, spec.Target);
            var rv1 = Targets.Targets.TrailingVolatility(bars, 1, h);
            var rv5 = Targets.Targets.TrailingVolatility(bars, 5, h);
            var rv22 = Targets.Targets.TrailingVolatility(bars, 22, h);
            for (var j = 0; j < input.FeatureTimes.Count; j++)
            {
                var t = input.FeatureTimes[j];
                if (t < spec.From || t > spec.To) continue;
                if (!index.TryGetValue(t, out var i)) continue;
                if (i + 1 < spec.Features.WarmUpPeriod) continue;
                if (i + h >= bars.Count || double.IsNaN(y[i])) continue;
                var labelEnd = bars[i + h].Time;
                if (labelEnd > spec.To) continue;
                var x = input.FeatureRows[j];
                if (x.Length != cols) throw new ArgumentException($"{symbol} at {t:o}: {x.Length} features, expected {cols}.", nameof(inputs));
                var last = i - h >= 0 ? y[i - h] : double.NaN; // realised at bar i: known at decision time
                rows.Add((t, s, x, y[i], labelEnd, [last, rv1[i], rv5[i], rv22[i]]));
            }
        }
        rows.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Symbol.CompareTo(b.Symbol));

        var n = rows.Count;
        var values = new float[n * cols];
        var labels = new double[n];
        var times = new DateTimeOffset[n];
        var ends = new DateTimeOffset[n];
        var symbolIndex = new int[n];
        var aux = AuxColumns.All.ToDictionary(a => a, _ => new double[n]);
        for (var r = 0; r < n; r++)
        {
            var row = rows[r];
            for (var c = 0; c < cols; c++) values[r * cols + c] = (float)row.X[c];
            labels[r] = row.Y;
            times[r] = row.Time;
            ends[r] = row.LabelEnd;
            symbolIndex[r] = row.Symbol;
            for (var a = 0; a < AuxColumns.All.Count; a++) aux[AuxColumns.All[a]][r] = row.Aux[a];
        }
        var frame = new FeatureFrame(values, n, spec.Features.Names, aux);
        return new Dataset(spec, Fingerprint(spec), frame, labels, times, ends, symbolIndex, spec.Symbols.ToArray());
    }

    /// <summary>One dataset per symbol, each with its own fingerprint.</summary>
    public static IReadOnlyDictionary<string, Dataset> BuildPerSymbol(DatasetSpec spec, IReadOnlyList<SymbolInput> inputs) =>
        spec.Symbols.ToDictionary(s => s, s => Build(spec with { Symbols = [s] }, inputs), StringComparer.Ordinal);

    /// <summary>SHA-256 (lower-case hex) of a canonical text of the spec; symbol order does not matter.</summary>
    public static string Fingerprint(DatasetSpec spec)
    {
        var text = string.Join('\n',
            "symbols=" + string.Join(',', spec.Symbols.Order(StringComparer.Ordinal)),
            "from=" + spec.From.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            "to=" + spec.To.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            "interval=" + spec.Interval,
            "features=" + spec.Features.Id + "#" + spec.Features.Hash,
            "target=" + spec.Target.Kind.ToString().ToLowerInvariant(),
            "horizon=" + spec.Target.Horizon.ToString(CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
