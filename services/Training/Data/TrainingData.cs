using System.Collections.Concurrent;
using Platform.Modeling.Datasets;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.Quant.Synthetic;
using Platform.Training.Runs;

namespace Platform.Training.Data;

/// <summary>Where a run's bars come from: the offline store, or (when enabled and the store lacks a symbol) the seeded synthetic market.</summary>
public sealed class TrainingBarSource(IBarReader reader, bool syntheticFallback, int syntheticBars = 1500)
{
    public async Task<(IReadOnlyList<Bar> Bars, string Source)> GetAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        var coverage = await reader.GetCoverageAsync(symbol, ct);
        if (coverage.Any(c => c.Interval == interval && c.Count > 0))
            return (await reader.GetBarsAsync(new BarQuery(symbol, interval, null, to?.AddTicks(1)), ct), "offline-store");
        if (!syntheticFallback)
            throw new InvalidOperationException($"No {interval} bars of '{symbol}' in the offline store (import them first, or enable Training:SyntheticFallback).");
        // A seed derived from the symbol name, so each synthetic symbol has its own, reproducible history.
        var seed = symbol.Aggregate(1469598103934665603UL, (h, c) => (h ^ c) * 1099511628211UL);
        var bars = SyntheticMarket.Generate(new SyntheticMarketOptions
        {
            Symbols = [new SyntheticSymbol(symbol)], Interval = interval, Bars = syntheticBars, Seed = seed,
        }).Select(b => b.Bar).ToList();
        return (bars, "synthetic");
    }
}

/// <summary>
/// Builds a run's dataset: bars per symbol, features in batch mode (a fresh calculator replayed over the bars, the
/// same code the features service streams), then <see cref="DatasetBuilder"/>. Datasets are cached by fingerprint so
/// the workflow's activities (and a resumed run) rebuild them only once per process; they are deterministic.
/// </summary>
public sealed class TrainingDatasets(TrainingBarSource bars)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<Dataset>>> _cache = new(StringComparer.Ordinal);

    public Task<Dataset> GetAsync(TrainingRequest request, CancellationToken ct)
    {
        var key = string.Join('|', request.Symbols) + "|" + request.Interval + "|" + request.From + "|" + request.To + "|" + request.FeatureSet + "|" + request.TargetSpec.Id;
        var lazy = _cache.GetOrAdd(key, _ => new Lazy<Task<Dataset>>(() => BuildAsync(request, ct)));
        var task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled) _cache.TryRemove(key, out _);
        if (_cache.Count > 4)
            foreach (var k in _cache.Keys.Where(k => k != key).Take(_cache.Count - 4)) _cache.TryRemove(k, out _);
        return task;
    }

    private async Task<Dataset> BuildAsync(TrainingRequest request, CancellationToken ct)
    {
        var interval = BarInterval.Parse(request.Interval);
        var set = FeatureSets.Get(request.FeatureSet);
        var inputs = new List<SymbolInput>();
        DateTimeOffset first = DateTimeOffset.MaxValue, last = DateTimeOffset.MinValue;
        foreach (var symbol in request.Symbols)
        {
            var (series, _) = await bars.GetAsync(symbol, interval, request.From, request.To, ct);
            if (series.Count == 0) throw new InvalidOperationException($"No bars for '{symbol}'.");
            var features = await Task.Run(() => FeatureBatch.Replay(() => FeatureSets.CreateCalculator(set.Id), series), ct);
            inputs.Add(new SymbolInput(symbol, series, series.Select(b => b.Time).ToArray(), features));
            if (series[0].Time < first) first = series[0].Time;
            if (series[^1].Time > last) last = series[^1].Time;
        }
        var warmUp = FeatureSets.CreateCalculator(set.Id).WarmUpPeriod;
        var spec = new DatasetSpec(request.Symbols, request.From ?? first, request.To ?? last, interval.Name,
            new FeatureSetRef(set.Id, set.Hash, set.Features, warmUp), request.TargetSpec);
        var dataset = DatasetBuilder.Build(spec, inputs);
        if (dataset.Rows == 0) throw new InvalidOperationException("The dataset is empty: too little history for the warm-up and the horizon.");
        return dataset;
    }
}
