using Platform.Backtesting.Engine.Costs;
using Platform.Backtesting.Engine;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Engine.Sizing;
using Platform.Backtesting.Engine.Strategies;
using Platform.Quant;

namespace Platform.Backtesting.Engine.Runs;

/// <summary>
/// What to backtest, as the API and the CLI take it. Everything but the symbols and the strategy has a
/// default: daily bars, the whole stored range, 100,000 cash, long only, no leverage, no costs, equal weight.
/// </summary>
public sealed record BacktestSpec
{
    public IReadOnlyList<string> Symbols { get; init; } = [];
    public string Strategy { get; init; } = "";
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public string Interval { get; init; } = "1d";
    /// <summary>Strategy parameters by name (see <see cref="StrategyCatalog"/>).</summary>
    public IReadOnlyDictionary<string, double> Parameters { get; init; } = new Dictionary<string, double>();
    public double InitialCash { get; init; } = BacktestSettings.DefaultInitialCash;
    public bool AllowShort { get; init; }
    public double MaxLeverage { get; init; } = 1.0;
    public double? MaxParticipation { get; init; }
    public CommissionSpec? Commission { get; init; }
    public SlippageSpec? Slippage { get; init; }
    public SizingSpec? Sizing { get; init; }
    /// <summary>
    /// With the <c>model</c> strategy: a registered model to trade instead of walk-forward retraining, and its version
    /// (a number, or an alias resolved to a number when the backtest is submitted, so the run is fixed).
    /// </summary>
    public string? Model { get; init; }
    public string? ModelVersion { get; init; }
}

/// <summary><c>none</c>, <c>per-share</c> (perShare, minimum), <c>percent</c> (rate, a fraction of value) or <c>fixed</c> (amount per order).</summary>
public sealed record CommissionSpec(string Model, double PerShare = 0, double Minimum = 0, double Rate = 0, double Amount = 0);

/// <summary><c>none</c>, <c>bps</c> (bps), <c>spread</c> (spreadBps, half of it paid) or <c>volume-share</c> (priceImpact).</summary>
public sealed record SlippageSpec(string Model, double Bps = 0, double SpreadBps = 0, double PriceImpact = VolumeShareSlippage.DefaultPriceImpact);

/// <summary><c>fixed-fraction</c> (fraction; equal weight without one) or <c>volatility-target</c> (targetVolatility, lookback, maxWeight).</summary>
public sealed record SizingSpec(string Model, double? Fraction = null, double TargetVolatility = 0.15, int Lookback = 20, double MaxWeight = 1.0);

/// <summary>The spec does not describe a valid backtest; errors are keyed by field, as in a validation problem.</summary>
public sealed class InvalidBacktestSpecException(IReadOnlyDictionary<string, string[]> errors)
    : Exception("Invalid backtest: " + string.Join("; ", errors.SelectMany(e => e.Value.Select(v => $"{e.Key}: {v}"))))
{
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>No bars for a symbol: unknown to every source.</summary>
public sealed class UnknownSymbolException(string symbol) : Exception($"Unknown symbol '{symbol}': no bar source has it.")
{
    public string Symbol { get; } = symbol;
}

/// <summary>The symbols are known but no bar falls in the requested range.</summary>
public sealed class EmptyRangeException(string message) : Exception(message);

public static class BacktestSpecValidator
{
    public const int MaxSymbols = 500;
    private const double MaxCostFraction = 1.0;
    private const double BpsPerUnit = 10_000;

    public static Dictionary<string, string[]> Validate(BacktestSpec spec)
    {
        var errors = new Dictionary<string, List<string>>();
        void Add(string key, string message) { if (!errors.TryGetValue(key, out var list)) errors[key] = list = []; list.Add(message); }

        if (spec.Symbols is null || spec.Symbols.Count == 0) Add("symbols", "At least one symbol is required.");
        else
        {
            if (spec.Symbols.Count > MaxSymbols) Add("symbols", $"At most {MaxSymbols} symbols.");
            if (spec.Symbols.Any(string.IsNullOrWhiteSpace)) Add("symbols", "Symbols must not be blank.");
            if (spec.Symbols.Distinct(StringComparer.OrdinalIgnoreCase).Count() != spec.Symbols.Count) Add("symbols", "Symbols must be distinct.");
        }
        if (!StrategyCatalog.Names.Contains(spec.Strategy ?? ""))
            Add("strategy", $"Unknown strategy '{spec.Strategy}'. Known: {string.Join(", ", StrategyCatalog.Names)}.");
        else
        {
            foreach (var (key, message) in StrategyCatalog.ValidateParameters(spec.Strategy!, spec.Parameters ?? new Dictionary<string, double>()))
                Add(key, message);
        }
        if (spec.Model is not null)
        {
            if (spec.Strategy != StrategyCatalog.Model) Add("model", $"A registered model is traded with the '{StrategyCatalog.Model}' strategy.");
            if (string.IsNullOrWhiteSpace(spec.Model)) Add("model", "The model name must not be blank.");
        }
        else if (spec.ModelVersion is not null) Add("modelVersion", "A model version needs a model name.");
        if (spec.From is { } from && spec.To is { } to && from >= to) Add("to", "The range is empty: 'to' must be after 'from'.");
        if (!BarInterval.TryParse(spec.Interval, out _)) Add("interval", $"Unknown interval '{spec.Interval}'.");
        if (!(spec.InitialCash > 0) || double.IsInfinity(spec.InitialCash)) Add("initialCash", "Initial cash must be positive.");
        if (!(spec.MaxLeverage > 0 && spec.MaxLeverage <= 100)) Add("maxLeverage", "The leverage limit must be in (0, 100].");
        if (spec.MaxParticipation is { } p && !(p > 0 && p <= 1)) Add("maxParticipation", "Participation is a fraction of bar volume in (0, 1].");

        if (spec.Commission is { } c)
        {
            switch (c.Model)
            {
                case "none": break;
                case "per-share":
                    if (!(c.PerShare >= 0)) Add("commission.perShare", "The rate per share must not be negative.");
                    if (!(c.Minimum >= 0)) Add("commission.minimum", "The minimum must not be negative.");
                    break;
                case "percent":
                    if (!(c.Rate >= 0 && c.Rate <= MaxCostFraction)) Add("commission.rate", "The commission rate is a fraction of value between 0 and 1 (100%).");
                    break;
                case "fixed":
                    if (!(c.Amount >= 0)) Add("commission.amount", "The fee must not be negative.");
                    break;
                default: Add("commission.model", $"Unknown commission model '{c.Model}'. Known: none, per-share, percent, fixed."); break;
            }
        }
        if (spec.Slippage is { } s)
        {
            switch (s.Model)
            {
                case "none": break;
                case "bps":
                    if (!(s.Bps >= 0 && s.Bps <= BpsPerUnit)) Add("slippage.bps", "Slippage is between 0 and 10000 bp (100%).");
                    break;
                case "spread":
                    if (!(s.SpreadBps >= 0 && s.SpreadBps <= 2 * BpsPerUnit)) Add("slippage.spreadBps", "The half-spread paid must be at most 100% (20000 bp spread).");
                    break;
                case "volume-share":
                    if (!(s.PriceImpact >= 0 && s.PriceImpact <= MaxCostFraction)) Add("slippage.priceImpact", "The price impact is a fraction between 0 and 1.");
                    break;
                default: Add("slippage.model", $"Unknown slippage model '{s.Model}'. Known: none, bps, spread, volume-share."); break;
            }
        }
        if (spec.Sizing is { } z)
        {
            switch (z.Model)
            {
                case "fixed-fraction":
                    if (z.Fraction is { } f && !(f > 0 && f <= FixedFractionSizer.MaxFraction)) Add("sizing.fraction", "The fraction must be in (0, 10].");
                    break;
                case "volatility-target":
                    if (!(z.TargetVolatility > 0 && z.TargetVolatility <= 10)) Add("sizing.targetVolatility", "The target volatility must be in (0, 10].");
                    if (z.Lookback < 2) Add("sizing.lookback", "The lookback must be at least 2 bars.");
                    if (!(z.MaxWeight > 0 && z.MaxWeight <= FixedFractionSizer.MaxFraction)) Add("sizing.maxWeight", "The maximum weight must be in (0, 10].");
                    break;
                default: Add("sizing.model", $"Unknown sizing model '{z.Model}'. Known: fixed-fraction, volatility-target."); break;
            }
        }
        return errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }

    /// <summary>The engine settings of a valid spec.</summary>
    public static BacktestSettings ToSettings(BacktestSpec spec) => new()
    {
        InitialCash = spec.InitialCash,
        AllowShort = spec.AllowShort,
        MaxLeverage = spec.MaxLeverage,
        MaxParticipation = spec.MaxParticipation,
        Commission = spec.Commission switch
        {
            null or { Model: "none" } => NoCommission.Instance,
            { Model: "per-share" } c => new PerShareCommission(c.PerShare, c.Minimum),
            { Model: "percent" } c => new PercentOfValueCommission(c.Rate),
            { Model: "fixed" } c => new FixedPerOrderCommission(c.Amount),
            var c => throw new ArgumentException($"Unknown commission model '{c.Model}'."),
        },
        Slippage = spec.Slippage switch
        {
            null or { Model: "none" } => NoSlippage.Instance,
            { Model: "bps" } s => new FixedBpsSlippage(s.Bps),
            { Model: "spread" } s => new SpreadSlippage(s.SpreadBps),
            { Model: "volume-share" } s => new VolumeShareSlippage(s.PriceImpact),
            var s => throw new ArgumentException($"Unknown slippage model '{s.Model}'."),
        },
        Sizer = spec.Sizing switch
        {
            null => new FixedFractionSizer(),
            { Model: "fixed-fraction" } z => new FixedFractionSizer(z.Fraction),
            { Model: "volatility-target" } z => new VolatilityTargetSizer(z.TargetVolatility, z.Lookback, z.MaxWeight),
            var z => throw new ArgumentException($"Unknown sizing model '{z.Model}'."),
        },
    };
}

/// <summary>The strategies a spec can name, their parameters and defaults.</summary>
public static class StrategyCatalog
{
    public const string SmaCross = "sma-cross";
    public const string MeanReversion = "mean-reversion";
    public const string Model = "model";

    public static readonly IReadOnlyList<string> Names = [SmaCross, MeanReversion, Model];

    /// <summary>Parameter names and defaults per strategy; periods and counts must be positive integers.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Defaults =
        new Dictionary<string, IReadOnlyDictionary<string, double>>
        {
            [SmaCross] = new Dictionary<string, double> { ["fast"] = 20, ["slow"] = 50, ["exponential"] = 0 },
            [MeanReversion] = new Dictionary<string, double> { ["period"] = 20, ["entry"] = 2.0, ["exit"] = 0.5 },
            [Model] = new Dictionary<string, double> { ["lags"] = 5, ["train"] = 252, ["test"] = 63, ["lambda"] = 1e-3, ["threshold"] = 0 },
        };

    private static readonly HashSet<string> Counts = ["fast", "slow", "period", "lags", "train", "test"];

    public static IEnumerable<(string Key, string Message)> ValidateParameters(string strategy, IReadOnlyDictionary<string, double> parameters)
    {
        var defaults = Defaults[strategy];
        foreach (var (name, value) in parameters)
        {
            var key = "parameters." + name;
            if (!defaults.ContainsKey(name)) { yield return (key, $"Unknown parameter '{name}' for {strategy}. Known: {string.Join(", ", defaults.Keys)}."); continue; }
            if (!double.IsFinite(value)) { yield return (key, "Must be a finite number."); continue; }
            if (Counts.Contains(name) && (value < 1 || value != Math.Floor(value) || value > 100_000)) yield return (key, "Must be a positive whole number of bars.");
            else if (!Counts.Contains(name) && value < 0) yield return (key, "Must not be negative.");
        }
        var p = With(strategy, parameters);
        switch (strategy)
        {
            case SmaCross when p["slow"] <= p["fast"]:
                yield return ("parameters.slow", "The slow period must be longer than the fast one.");
                break;
            case MeanReversion when p["period"] < 2:
                yield return ("parameters.period", "The period must be at least 2.");
                break;
            case MeanReversion when !(p["entry"] > 0) || p["exit"] >= p["entry"]:
                yield return ("parameters.exit", "Need 0 <= exit < entry.");
                break;
            case Model when p["train"] < p["lags"] + 2:
                yield return ("parameters.train", "The training window must be longer than the lags + 1.");
                break;
        }
    }

    public static IReadOnlyDictionary<string, double> With(string strategy, IReadOnlyDictionary<string, double> parameters)
    {
        var all = new Dictionary<string, double>(Defaults[strategy]);
        foreach (var (k, v) in parameters) if (all.ContainsKey(k)) all[k] = v;
        return all;
    }

    public static IStrategy Create(BacktestSpec spec, IWindowModelTrainer? trainer = null, CancellationToken ct = default, LoadedModel? model = null)
    {
        var p = With(spec.Strategy, spec.Parameters);
        if (spec.Model is not null)
            return new RegisteredModelStrategy(model ?? throw new ArgumentException($"Model {spec.Model} was not loaded.", nameof(model)), p["threshold"]);
        return spec.Strategy switch
        {
            SmaCross => new MovingAverageCrossStrategy((int)p["fast"], (int)p["slow"], p["exponential"] != 0),
            MeanReversion => new MeanReversionStrategy((int)p["period"], p["entry"], p["exit"]),
            Model => new ModelStrategy(trainer ?? new RidgeLaggedReturnTrainer(p["lambda"]), (int)p["lags"], (int)p["train"], (int)p["test"], p["threshold"], ct),
            _ => throw new ArgumentException($"Unknown strategy '{spec.Strategy}'.", nameof(spec)),
        };
    }
}
