using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Engine;
using Platform.Backtesting.Engine.Modeling;
using Platform.Backtesting.Engine.Statistics;
using Platform.Backtesting.Engine.Strategies;
using Platform.Quant;

namespace Platform.Backtesting.Engine.Runs;

/// <summary>
/// One backtest from a spec: validate, load bars, run the strategy and the buy-and-hold benchmark with the
/// same account and costs, and compute the report. The steps are separate so a durable workflow can run
/// them as activities.
/// </summary>
public sealed class BacktestRunner(IBarSource bars, IWindowModelTrainer? trainer = null, IRegisteredModelSource? models = null)
{
    public const int DefaultMaxCurvePoints = 2000;

    public IBarSource Bars { get; } = bars;

    public static void EnsureValid(BacktestSpec spec)
    {
        var errors = BacktestSpecValidator.Validate(spec);
        if (errors.Count > 0) throw new InvalidBacktestSpecException(errors);
    }

    /// <summary>Loads every symbol's bars; throws <see cref="UnknownSymbolException"/> or <see cref="EmptyRangeException"/>.</summary>
    public async Task<MarketSeries> LoadAsync(BacktestSpec spec, CancellationToken ct = default)
    {
        EnsureValid(spec);
        var interval = BarInterval.Parse(spec.Interval);
        var series = new List<SymbolSeries>();
        foreach (var symbol in spec.Symbols)
        {
            var loaded = await Bars.GetBarsAsync(symbol, interval, spec.From, spec.To, ct) ?? throw new UnknownSymbolException(symbol);
            if (loaded.Length == 0) throw new EmptyRangeException($"No {interval} bars of {symbol} between {spec.From:yyyy-MM-dd} and {spec.To:yyyy-MM-dd}.");
            series.Add(new SymbolSeries(symbol, loaded));
        }
        return new MarketSeries(series, interval);
    }

    /// <summary>The registered model version a spec names (null when it names none); its version must be a number by now.</summary>
    public async Task<LoadedModel?> LoadModelAsync(BacktestSpec spec, CancellationToken ct = default)
    {
        if (spec.Model is null) return null;
        if (models is null) throw new InvalidOperationException("This runner has no model registry: registered models cannot be backtested here.");
        var version = int.TryParse(spec.ModelVersion, out var v) ? v : await models.ResolveAsync(spec.Model, spec.ModelVersion ?? "champion", ct);
        return await models.LoadAsync(spec.Model, version, ct);
    }

    public BacktestReport Run(BacktestSpec spec, MarketSeries market, IProgress<double>? progress = null,
        int maxCurvePoints = DefaultMaxCurvePoints, CancellationToken ct = default, LoadedModel? model = null)
    {
        EnsureValid(spec);
        var strategy = StrategyCatalog.Create(spec, trainer, ct, model);
        var strategyRun = new BacktestEngine(BacktestSpecValidator.ToSettings(spec))
            .Run(market, strategy, progress: progress is null ? null : new Scaled(progress, 0, 0.8), ct: ct);
        var benchmarkRun = new BacktestEngine(BacktestSpecValidator.ToSettings(spec) with { AllowShort = false, Sizer = new Sizing.FixedFractionSizer() })
            .Run(market, new BuyAndHoldStrategy(), progress: progress is null ? null : new Scaled(progress, 0.8, 0.2), ct: ct);
        var report = PerformanceCalculator.Report(strategyRun, benchmarkRun, maxCurvePoints);
        progress?.Report(1.0);
        return report;
    }

    public async Task<BacktestReport> RunAsync(BacktestSpec spec, IProgress<double>? progress = null,
        int maxCurvePoints = DefaultMaxCurvePoints, CancellationToken ct = default)
    {
        var market = await LoadAsync(spec, ct);
        var model = await LoadModelAsync(spec, ct);
        try
        {
            return Run(spec, market, progress, maxCurvePoints, ct, model);
        }
        finally
        {
            model?.Model.Dispose();
        }
    }

    private sealed class Scaled(IProgress<double> inner, double offset, double scale) : IProgress<double>
    {
        public void Report(double value) => inner.Report(offset + scale * value);
    }
}
