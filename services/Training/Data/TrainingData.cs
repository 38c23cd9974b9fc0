using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Platform.Modeling.Datasets;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.Quant.Synthetic;
using Platform.Training.Runs;

namespace Platform.Training.Data;

/// <summary>A run asked for data the offline store does not hold (unknown symbol, empty range). The message names what it holds.</summary>
public sealed class TrainingDataException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// Where a run's bars come from: the offline store (the default; a symbol or range it lacks is an error naming what
/// it holds), or the seeded synthetic market (with the demo's planted volume signal) when the request asks for
/// <c>dataSource: synthetic</c>. Never a silent mix of the two.
/// </summary>
public sealed class TrainingBarSource(IBarReader reader, int syntheticBars = 1500)
{
    /// <summary>Problems with the request's data, by field (empty when the store holds bars for every symbol in range).</summary>
    public async Task<Dictionary<string, string[]>> CheckAsync(TrainingRequest request, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.DataSource != DataSources.Store || !BarInterval.TryParse(request.Interval, out var interval)) return errors;
        var problems = new List<string>();
        IReadOnlyList<SeriesCoverage>? all = null;
        foreach (var symbol in request.Symbols.Where(s => !string.IsNullOrWhiteSpace(s)))
        {
            var coverage = await reader.CoverageOfAsync(symbol, interval, ct);
            if (coverage is null)
            {
                all ??= await reader.GetCoverageAsync(ct: ct);
                problems.Add($"The offline store has no {interval} bars of '{symbol}'. {Holdings(all)}");
            }
            else if (request.From is { } from && from > coverage.Last || request.To is { } to && to < coverage.First)
                problems.Add($"The offline store has {interval} bars of '{symbol}' from {coverage.First:yyyy-MM-dd} to {coverage.Last:yyyy-MM-dd} only, " +
                    $"none in {request.From?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "..."}..{request.To?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "..."}.");
        }
        if (problems.Count > 0) errors["symbols"] = problems.ToArray();
        return errors;
    }

    /// <summary>
    /// An upper bound on the rows a run's dataset would have (one per symbol and bar in range), from the store's row
    /// counts, without reading a bar: a range inside a series' coverage is counted in proportion to its share of it.
    /// </summary>
    public async Task<long> EstimateRowsAsync(TrainingRequest request, CancellationToken ct)
    {
        if (!BarInterval.TryParse(request.Interval, out var interval)) return 0;
        var symbols = request.Symbols.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct(StringComparer.Ordinal).ToList();
        if (request.DataSource == DataSources.Synthetic) return (long)symbols.Count * syntheticBars;
        long rows = 0;
        foreach (var symbol in symbols)
        {
            var coverage = await reader.CoverageOfAsync(symbol, interval, ct);
            if (coverage is null) continue;
            var from = request.From is { } f && f > coverage.First ? f : coverage.First;
            var to = request.To is { } t && t < coverage.Last ? t : coverage.Last;
            var span = (coverage.Last - coverage.First).Ticks;
            rows += to < from ? 0 : span <= 0 ? coverage.Count : (long)Math.Ceiling(coverage.Count * Math.Min(1.0, (double)(to - from).Ticks / span));
        }
        return rows;
    }

    /// <summary>What the store holds, in one sentence.</summary>
    public static string Holdings(IReadOnlyList<SeriesCoverage> coverage) => coverage.Count == 0
        ? "The store is empty: import bars first (./platform import, POST /v1/market/imports), or ask for dataSource: synthetic."
        : "It holds: " + string.Join("; ", coverage.Take(20).Select(c => $"{c.Symbol} {c.Interval} {c.First:yyyy-MM-dd}..{c.Last:yyyy-MM-dd} ({c.Count} bars)"))
          + (coverage.Count > 20 ? $"; and {coverage.Count - 20} more series." : ".");

    public async Task<IReadOnlyList<Bar>> GetAsync(string symbol, BarInterval interval, DateTimeOffset? to, string dataSource, CancellationToken ct)
    {
        if (dataSource == DataSources.Synthetic)
        {
            // A seed derived from the symbol name, so each synthetic symbol has its own, reproducible history.
            var seed = symbol.Aggregate(1469598103934665603UL, (h, c) => (h ^ c) * 1099511628211UL);
            return SyntheticMarket.Generate(new SyntheticMarketOptions
            {
                Symbols = [new SyntheticSymbol(symbol)], Interval = interval, Bars = syntheticBars, Seed = seed,
                VolumeSignal = SyntheticMarketOptions.DemoVolumeSignal,
            }).Select(b => b.Bar).Where(b => to is null || b.Time <= to).ToList();
        }
        var coverage = await reader.GetCoverageAsync(symbol, ct);
        if (!coverage.Any(c => c.Interval == interval && c.Count > 0))
            throw new TrainingDataException("symbols", $"The offline store has no {interval} bars of '{symbol}'. {Holdings(await reader.GetCoverageAsync(ct: ct))}");
        return await reader.GetBarsAsync(new BarQuery(symbol, interval, null, to?.AddTicks(1)), ct);
    }
}

/// <summary>
/// Builds a run's dataset: bars per symbol, features in batch mode (a fresh calculator replayed over the bars, the
/// same code the features service streams), then <see cref="DatasetBuilder"/>. Datasets are cached by request so
/// the workflow's activities (and a resumed run) rebuild them only once per process; they are deterministic. The
/// dataset's fingerprint covers the data actually used (<see cref="DataFingerprint"/>), not only the request. A
/// dataset over the run's limits (<see cref="TrainingLimits"/>) is refused before any bar is read.
/// </summary>
public sealed class TrainingDatasets(TrainingBarSource bars, TrainingLimits limits)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<Dataset>>> _cache = new(StringComparer.Ordinal);

    public Task<Dataset> GetAsync(TrainingRequest request, CancellationToken ct)
    {
        var key = string.Join('|', request.Symbols) + "|" + request.Interval + "|" + request.From + "|" + request.To + "|" + request.FeatureSet
            + "|" + request.TargetSpec.Id + "|" + request.DataSource;
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
        // Checked again here, not only when the run was accepted: the store may have grown since, and a run resumed
        // after a restart may predate the limits. Failing before reading a bar keeps the memory unused.
        var exceeded = limits.Check(request);
        foreach (var (key, value) in limits.CheckDataset(await bars.EstimateRowsAsync(request, ct), set.Count)) exceeded[key] = value;
        if (exceeded.Count > 0) throw new TrainingBudgetException("The run exceeds its limits: " + string.Join(" ", exceeded.Values.SelectMany(v => v)));
        var inputs = new List<SymbolInput>();
        DateTimeOffset first = DateTimeOffset.MaxValue, last = DateTimeOffset.MinValue;
        foreach (var symbol in request.Symbols)
        {
            var series = await bars.GetAsync(symbol, interval, request.To, request.DataSource, ct);
            if (series.Count == 0 || request.From is { } f && series[^1].Time < f)
                throw new TrainingDataException("symbols", $"No {interval} bars of '{symbol}' in the requested range.");
            var features = await Task.Run(() => FeatureBatch.Replay(() => FeatureSets.CreateCalculator(set.Id), series), ct);
            inputs.Add(new SymbolInput(symbol, series, series.Select(b => b.Time).ToArray(), features));
            if (series[0].Time < first) first = series[0].Time;
            if (series[^1].Time > last) last = series[^1].Time;
        }
        var warmUp = FeatureSets.CreateCalculator(set.Id).WarmUpPeriod;
        var spec = new DatasetSpec(request.Symbols, request.From ?? first, request.To ?? last, interval.Name,
            new FeatureSetRef(set.Id, set.Hash, set.Features, warmUp), request.TargetSpec);
        var dataset = DatasetBuilder.Build(spec, inputs);
        if (dataset.Rows == 0) throw new TrainingDataException("symbols", "The dataset is empty: too little history for the warm-up and the horizon.");
        return dataset.WithFingerprint(DataFingerprint(dataset, request.DataSource));
    }

    /// <summary>
    /// SHA-256 over the data a run uses: the spec's fingerprint, the data source, and every row's symbol, decision
    /// time, label and feature values (bit patterns). Re-imported bars that change any value change the fingerprint.
    /// </summary>
    public static string DataFingerprint(Dataset ds, string dataSource)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(DatasetBuilder.Fingerprint(ds.Spec) + "|" + dataSource + "|"));
        Span<byte> buffer = stackalloc byte[8];
        for (var r = 0; r < ds.Rows; r++)
        {
            BitConverter.TryWriteBytes(buffer, ds.SymbolIndex[r]);
            hash.AppendData(buffer[..4]);
            BitConverter.TryWriteBytes(buffer, ds.Times[r].UtcTicks);
            hash.AppendData(buffer);
            BitConverter.TryWriteBytes(buffer, ds.Labels[r]);
            hash.AppendData(buffer);
        }
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ds.Frame.Values.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
