using Platform.Quant;

namespace Platform.Backtesting.Data;

/// <summary>Where a backtest's bars come from (the offline store, files, the synthetic market).</summary>
public interface IBarSource
{
    string Name { get; }

    /// <summary>The symbol's bars in [from, to] (bounds optional), or null when the source does not know the symbol.</summary>
    Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default);
}

/// <summary>The first source that knows a symbol answers (e.g. the offline store, then the synthetic market).</summary>
public sealed class FallbackBarSource(params IBarSource[] sources) : IBarSource
{
    public string Name => string.Join(" > ", sources.Select(s => s.Name));

    public async Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
    {
        foreach (var source in sources)
        {
            if (await source.GetBarsAsync(symbol, interval, from, to, ct) is { } bars) return bars;
        }
        return null;
    }
}

/// <summary>
/// A seeded synthetic market for tests, demos and an empty store: a fixed universe of symbols, each a
/// geometric random walk with its own drift, volatility and a little mean-reverting noise, with consistent
/// OHLCV (open near the previous close, high/low around both). The same seed gives the same bars.
/// </summary>
public sealed class SyntheticBarSource : IBarSource
{
    public static readonly IReadOnlyList<string> DefaultUniverse = ["SYN-A", "SYN-B", "SYN-C", "SYN-D", "SYN-E", "SYN-F", "SYN-G", "SYN-H"];
    public static readonly DateTimeOffset DefaultStart = new(2015, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public const int DefaultBars = 2520;

    private readonly HashSet<string> _universe;

    public SyntheticBarSource(IEnumerable<string>? universe = null, int seed = 42, DateTimeOffset? start = null, int bars = DefaultBars)
    {
        _universe = new HashSet<string>(universe ?? DefaultUniverse, StringComparer.OrdinalIgnoreCase);
        Seed = seed;
        Start = start ?? DefaultStart;
        Bars = bars;
    }

    public int Seed { get; }
    public DateTimeOffset Start { get; }
    public int Bars { get; }
    public IReadOnlyCollection<string> Universe => _universe;
    public string Name => "synthetic";

    public Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
    {
        if (!_universe.Contains(symbol)) return Task.FromResult<Bar[]?>(null);
        var all = Generate(symbol.ToUpperInvariant(), interval, Start, Bars, Seed);
        var selected = all.Where(b => (from is null || b.Time >= from) && (to is null || b.Time <= to)).ToArray();
        return Task.FromResult<Bar[]?>(selected);
    }

    /// <summary>Bars of one symbol; the series depends only on the symbol name, the seed and the interval.</summary>
    public static Bar[] Generate(string symbol, BarInterval interval, DateTimeOffset start, int count, int seed)
    {
        var rng = new Random(HashCode(symbol) ^ seed);
        var perYear = interval.BarsPerYear;
        var drift = (0.02 + 0.10 * rng.NextDouble()) / perYear;
        var vol = (0.15 + 0.35 * rng.NextDouble()) / Math.Sqrt(perYear);
        var price = 20 + 180 * rng.NextDouble();
        var meanVolume = 200_000 + 2_000_000 * rng.NextDouble();
        var bars = new Bar[count];
        var time = start;
        double noise = 0;
        for (var i = 0; i < count; i++)
        {
            var open = price * Math.Exp(vol * 0.2 * Normal(rng));
            // An AR(1) noise on top of the walk gives the mean-reversion strategies something to find.
            noise = 0.6 * noise + vol * 0.5 * Normal(rng);
            var close = open * Math.Exp(drift + vol * Normal(rng) + noise - 0.6 * noise);
            var high = Math.Max(open, close) * Math.Exp(Math.Abs(vol * 0.5 * Normal(rng)));
            var low = Math.Min(open, close) * Math.Exp(-Math.Abs(vol * 0.5 * Normal(rng)));
            var volume = Math.Round(meanVolume * Math.Exp(0.3 * Normal(rng)));
            bars[i] = new Bar(time, Round(open), Round(Math.Max(high, Math.Max(open, close))), Round(Math.Min(low, Math.Min(open, close))), Round(close), volume);
            price = close;
            time += interval.Length;
        }
        return bars;
    }

    private static double Round(double price) => Math.Round(price, 4);

    private static double Normal(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>FNV-1a: stable across processes, unlike string.GetHashCode.</summary>
    private static int HashCode(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return (int)hash;
    }
}

/// <summary>
/// Daily bars from Yahoo Finance CSV files (<c>Date,Open,High,Low,Close,Adj Close,Volume</c>) in a folder,
/// one file per symbol named <c>{symbol}-daily.csv</c> or <c>{symbol}.csv</c> (case-insensitive). Prices are
/// adjusted (OHLC scaled by Adj Close / Close, volume inversely); rows with missing values ("null") are skipped.
/// </summary>
public sealed class YahooCsvBarSource(string directory) : IBarSource
{
    public string Directory { get; } = directory;
    public string Name => $"csv:{Directory}";

    public async Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
    {
        if (interval != BarInterval.OneDay || !System.IO.Directory.Exists(Directory)) return null;
        var path = new[] { $"{symbol}-daily.csv", $"{symbol}.csv" }
            .Select(name => System.IO.Directory.EnumerateFiles(Directory).FirstOrDefault(f => string.Equals(Path.GetFileName(f), name, StringComparison.OrdinalIgnoreCase)))
            .FirstOrDefault(p => p is not null);
        if (path is null) return null;
        var bars = Parse(await File.ReadAllLinesAsync(path, ct));
        return bars.Where(b => (from is null || b.Time >= from) && (to is null || b.Time <= to)).ToArray();
    }

    public static List<Bar> Parse(IEnumerable<string> lines)
    {
        var bars = new List<Bar>();
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            if (f.Length < 7) continue;
            if (!DateTimeOffset.TryParse(f[0], culture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time)) continue;
            if (!double.TryParse(f[1], culture, out var open) || !double.TryParse(f[2], culture, out var high) ||
                !double.TryParse(f[3], culture, out var low) || !double.TryParse(f[4], culture, out var close) ||
                !double.TryParse(f[5], culture, out var adj) || !double.TryParse(f[6], culture, out var volume)) continue;
            if (bars.Count > 0 && time <= bars[^1].Time) continue;
            if (!(close > 0) || !(adj > 0)) continue;
            // Yahoo's OHLC are not split-adjusted; scaling by Adj Close / Close removes split and dividend jumps.
            var factor = adj / close;
            bars.Add(new Bar(time, open * factor, high * factor, low * factor, adj, volume / factor, adj));
        }
        return bars;
    }
}
