using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Engine.Runs;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Workflows;

namespace Platform.Backtesting.Runs;

/// <summary>
/// What one backtest may ask for (configuration section <c>Backtesting:Limits</c>) and the ranges of its values. The API
/// checks both before a run is created.
/// </summary>
public sealed class BacktestLimits
{
    public const string Section = "Backtesting:Limits";

    /// <summary>Symbols per backtest (at most <see cref="BacktestSpecValidator.MaxSymbols"/> whatever the setting).</summary>
    public int MaxSymbols { get; set; } = 100;

    /// <summary>Bars a backtest reads, all symbols together, estimated from the store's row counts in the requested range.</summary>
    public long MaxBars { get; set; } = 2_000_000;

    /// <summary>Backtests started through the API that may run at once, in total and per caller.</summary>
    public int MaxConcurrentRuns { get; set; } = 8;
    public int MaxConcurrentRunsPerCaller { get; set; } = 4;

    /// <summary>Initial cash, per-share commission and fee ceilings: beyond them the arithmetic loses every cent.</summary>
    public const double MaxInitialCash = 1e12;
    public const double MaxPerShareCommission = 100;
    public const double MaxFee = 1e6;

    /// <summary>Dates a backtest may name.</summary>
    public static readonly DateTimeOffset EarliestDate = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset LatestDate = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public RunLimits Concurrency => RunLimits.OfSection(Section, MaxConcurrentRuns, MaxConcurrentRunsPerCaller);

    /// <summary>Values out of range (money, fees, dates), by field; the engine's validator has already checked signs and models.</summary>
    public static Dictionary<string, string[]> CheckValues(BacktestSpec spec)
    {
        var errors = new Dictionary<string, string[]>();
        if (spec.InitialCash > MaxInitialCash) errors["initialCash"] = [$"Initial cash must be at most {MaxInitialCash:E0}."];
        if (spec.Commission is { } c)
        {
            if (c.PerShare > MaxPerShareCommission) errors["commission.perShare"] = [$"The rate per share must be at most {MaxPerShareCommission}."];
            if (c.Minimum > MaxFee) errors["commission.minimum"] = [$"The minimum must be at most {MaxFee:E0}."];
            if (c.Amount > MaxFee) errors["commission.amount"] = [$"The fee must be at most {MaxFee:E0}."];
            if (!double.IsFinite(c.PerShare) || !double.IsFinite(c.Minimum) || !double.IsFinite(c.Rate) || !double.IsFinite(c.Amount))
                errors["commission"] = ["Commission values must be finite numbers."];
        }
        if (spec.Slippage is { } s && (!double.IsFinite(s.Bps) || !double.IsFinite(s.SpreadBps) || !double.IsFinite(s.PriceImpact)))
            errors["slippage"] = ["Slippage values must be finite numbers."];
        if (spec.Sizing is { } z && (z.Fraction is { } f && !double.IsFinite(f) || !double.IsFinite(z.TargetVolatility) || !double.IsFinite(z.MaxWeight)))
            errors["sizing"] = ["Sizing values must be finite numbers."];
        foreach (var (name, date) in new[] { ("from", spec.From), ("to", spec.To) })
            if (date is { } d && (d < EarliestDate || d >= LatestDate))
                errors[name] = [$"'{name}' must be between {EarliestDate:yyyy-MM-dd} and {LatestDate:yyyy-MM-dd}."];
        return errors;
    }

    /// <summary>The limits the request itself exceeds (symbols), by field.</summary>
    public Dictionary<string, string[]> Check(BacktestSpec spec)
    {
        var errors = new Dictionary<string, string[]>();
        if (spec.Symbols.Count > MaxSymbols) errors["symbols"] = [$"{spec.Symbols.Count} symbols; a backtest takes at most {MaxSymbols} ({Section}:MaxSymbols)."];
        return errors;
    }

    /// <summary>The limit an estimate of <paramref name="bars"/> bars exceeds, by field.</summary>
    public Dictionary<string, string[]> CheckBars(long bars)
    {
        var errors = new Dictionary<string, string[]>();
        if (bars > MaxBars)
            errors["symbols"] = [$"The backtest would read about {bars:N0} bars; at most {MaxBars:N0} ({Section}:MaxBars). Ask for fewer symbols or a shorter range."];
        return errors;
    }

    /// <summary>
    /// An upper bound on the bars a backtest reads, from the store's row counts (a range inside a series counted in
    /// proportion to its share of it); a symbol the store lacks counts as the synthetic market's length.
    /// </summary>
    public static async Task<long> EstimateBarsAsync(BacktestSpec spec, BarInterval interval, IBarReader reader, CancellationToken ct)
    {
        long bars = 0;
        foreach (var symbol in spec.Symbols.Distinct(StringComparer.Ordinal))
        {
            var coverage = await reader.CoverageOfAsync(symbol, interval, ct);
            if (coverage is null) { bars += SyntheticBarSource.DefaultBars; continue; }
            var from = spec.From is { } f && f > coverage.First ? f : coverage.First;
            var to = spec.To is { } t && t < coverage.Last ? t : coverage.Last;
            var span = (coverage.Last - coverage.First).Ticks;
            bars += to < from ? 0 : span <= 0 ? coverage.Count : (long)Math.Ceiling(coverage.Count * Math.Min(1.0, (double)(to - from).Ticks / span));
        }
        return bars;
    }
}
