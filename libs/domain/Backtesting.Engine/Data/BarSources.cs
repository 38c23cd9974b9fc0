using System.Collections.Concurrent;
using Platform.Quant;
using Platform.Quant.Synthetic;

namespace Platform.Backtesting.Engine.Data;

/// <summary>Where a backtest's bars come from (the offline store, files, the synthetic market).</summary>
public interface IBarSource
{
    string Name { get; }

    /// <summary>The symbol's bars in [from, to) (bounds optional), or null when the source does not know the symbol.</summary>
    Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default);

    /// <summary>Whether the source has the symbol at the interval at all (a cheap check before a run is accepted).</summary>
    Task<bool> HasSymbolAsync(string symbol, BarInterval interval, CancellationToken ct = default);
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

    public async Task<bool> HasSymbolAsync(string symbol, BarInterval interval, CancellationToken ct = default)
    {
        foreach (var source in sources)
        {
            if (await source.HasSymbolAsync(symbol, interval, ct)) return true;
        }
        return false;
    }
}

/// <summary>
/// The seeded synthetic market (<see cref="SyntheticMarket"/>: correlated returns, GARCH volatility, jumps) as a
/// bar source, for tests, demos and an empty store. The whole market is generated once per interval and kept;
/// the same options give the same bars.
/// </summary>
public sealed class SyntheticBarSource : IBarSource
{
    public const int DefaultSymbols = 8;
    public const int DefaultBars = 2520;
    public const ulong DefaultSeed = 42;
    public static readonly DateTimeOffset DefaultStart = new(2015, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly ConcurrentDictionary<BarInterval, Lazy<Dictionary<string, Bar[]>>> _markets = new();

    public SyntheticBarSource(SyntheticMarketOptions? options = null) =>
        Options = options ?? new SyntheticMarketOptions
        {
            Symbols = SyntheticMarketOptions.Universe(DefaultSymbols), Bars = DefaultBars, Start = DefaultStart, Seed = DefaultSeed,
        };

    public SyntheticMarketOptions Options { get; }
    public IEnumerable<string> Universe => Options.Symbols.Select(s => s.Symbol);
    public string Name => "synthetic";

    public Task<bool> HasSymbolAsync(string symbol, BarInterval interval, CancellationToken ct = default) =>
        Task.FromResult(Options.Symbols.Any(s => string.Equals(s.Symbol, symbol, StringComparison.OrdinalIgnoreCase)));

    public Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
    {
        var market = _markets.GetOrAdd(interval, i => new Lazy<Dictionary<string, Bar[]>>(() => Generate(Options with { Interval = i }))).Value;
        if (!market.TryGetValue(symbol, out var bars)) return Task.FromResult<Bar[]?>(null);
        return Task.FromResult<Bar[]?>(BarRange.Select(bars, from, to));
    }

    /// <summary>Every symbol's bars of a synthetic market, in time order.</summary>
    public static Dictionary<string, Bar[]> Generate(SyntheticMarketOptions options)
    {
        var lists = options.Symbols.ToDictionary(s => s.Symbol, _ => new List<Bar>(options.Bars), StringComparer.OrdinalIgnoreCase);
        foreach (var bar in SyntheticMarket.Stream(options)) lists[bar.Symbol].Add(bar.Bar);
        return lists.ToDictionary(l => l.Key, l => l.Value.ToArray(), StringComparer.OrdinalIgnoreCase);
    }
}

/// <summary>Ranges are half-open, as in the offline store: [from, to).</summary>
public static class BarRange
{
    public static Bar[] Select(IEnumerable<Bar> bars, DateTimeOffset? from, DateTimeOffset? to) =>
        bars.Where(b => (from is null || b.Time >= from) && (to is null || b.Time < to)).ToArray();
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

    public Task<bool> HasSymbolAsync(string symbol, BarInterval interval, CancellationToken ct = default) =>
        Task.FromResult(FileOf(symbol, interval) is not null);

    public async Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
    {
        if (FileOf(symbol, interval) is not { } path) return null;
        var bars = Parse(await File.ReadAllLinesAsync(path, ct));
        return BarRange.Select(bars, from, to);
    }

    private string? FileOf(string symbol, BarInterval interval)
    {
        if (interval != BarInterval.OneDay || !System.IO.Directory.Exists(Directory)) return null;
        return new[] { $"{symbol}-daily.csv", $"{symbol}.csv" }
            .Select(name => System.IO.Directory.EnumerateFiles(Directory).FirstOrDefault(f => string.Equals(Path.GetFileName(f), name, StringComparison.OrdinalIgnoreCase)))
            .FirstOrDefault(p => p is not null);
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
