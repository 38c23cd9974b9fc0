using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Contracts;
using Platform.Modeling.Drift;
using Platform.Modeling.Registry;
using Platform.Modeling.Targets;
using Platform.Monitoring;
using Platform.Monitoring.Drift;
using Platform.Monitoring.Outcomes;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.Quant.Features;
using Platform.TestSupport;

namespace Platform.Bench.Monitoring;

/// <summary>
/// The monitoring loop's figures. Drift: seeded daily markets (log-normal returns, 1% daily volatility), a 5-bar
/// realised-volatility target, a reference from the first 500 bars, windows of the default size sliding one bar at a
/// time, judged by the service's own <see cref="DriftMonitor.Assess"/> with the default thresholds. Detection delay:
/// bars from a x2.5 volatility change to the first window that drifts (median over 20 markets); false alarms: windows
/// that drift on stationary markets, per 1,000. Joins: predictions joined with outcomes per second by the service's
/// <see cref="OutcomeJoiner"/> on the embedded SQLite stores. Catch-up: one join that settles a long run of stored
/// predictions at once, with the service's drift evaluation after it (<see cref="CatchUpAsync"/>).
/// </summary>
public sealed class MonitoringBenchmark : IBenchmark
{
    private const int Horizon = 5;
    private const int ReferenceBars = 500;
    private const int ChangeAt = 800;

    public string Name => "monitoring";
    public string Description => "drift detection delay after a x2.5 volatility change (median of 20 markets), false alarms per 1,000 windows, outcome joins/s, " +
        "a catching-up join's drift evaluations with and without the bound";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var options = new DriftOptions();
        var spec = new TargetSpec(TargetKind.Volatility, Horizon);
        var delays = new List<int>();
        var missed = 0;
        for (var seed = 1; seed <= 20; seed++)
        {
            var bars = Market(ChangeAt + 400, (ulong)seed, ChangeAt);
            var first = Windows(bars, spec, options).FirstOrDefault(w => w.Breached && w.End >= ChangeAt, (End: -1, Breached: false));
            if (first.End < 0) missed++;
            else delays.Add(first.End - ChangeAt);
        }
        delays.Sort();
        var median = delays.Count == 0 ? double.NaN : delays.Count % 2 == 1 ? delays[delays.Count / 2]
            : (delays[delays.Count / 2 - 1] + delays[delays.Count / 2]) / 2.0;
        context.Line($"detection delay (bars after the change to the first drifting window end; window {options.WindowSize}, horizon {Horizon}): " +
            $"median {median}, min {delays.FirstOrDefault()}, max {delays.LastOrDefault()}, missed {missed} of 20");

        long windows = 0, alarms = 0;
        var markets = context.Quick ? 10 : 50;
        for (var seed = 1001; seed <= 1000 + markets; seed++)
        {
            foreach (var w in Windows(Market(ReferenceBars + 1000, (ulong)seed, int.MaxValue), spec, options))
            {
                windows++;
                if (w.Breached) alarms++;
            }
        }
        var perThousand = 1000.0 * alarms / windows;
        context.Line($"false alarms on {markets} stationary markets: {alarms} of {windows:N0} windows = {perThousand:F2} per 1,000 (goal <= 5)");

        var (joined, seconds) = await JoinsAsync(context, context.Quick ? 20_000 : 100_000, ct);
        var rate = joined / seconds;
        context.Line($"outcome joins: {joined:N0} predictions joined in {seconds:F2} s = {rate:N0}/s on the embedded SQLite stores (goal >= 50,000/s)");
        var bounded = await CatchUpAsync(context, DriftOptions.DefaultMaxEvaluationsPerJoin, BarInterval.OneDay, ct);
        var unbounded = await CatchUpAsync(context, int.MaxValue, BarInterval.OneDay, ct);
        context.Line($"catch-up, daily bars: the bounded join took {bounded / unbounded:F3} x the unbounded one's time");
        var minutes = await CatchUpAsync(context, int.MaxValue, BarInterval.OneMinute, ct);
        return $"monitoring: detection delay median {median} bars, false alarms {perThousand:F2}/1,000 windows, joins {rate:N0}/s, " +
            $"catch-up {bounded:F2} s bounded vs {unbounded:F2} s (daily), {minutes:F2} s unbounded (minutes)";
    }

    /// <summary>Every window end from the first full window on: realised targets known by the window end, against the reference.</summary>
    private static IEnumerable<(int End, bool Breached)> Windows(IReadOnlyList<Bar> bars, TargetSpec spec, DriftOptions options)
    {
        var y = Targets.Compute(bars, spec);
        var reference = ReferenceProfile.From(Targets.Compute(bars.Take(ReferenceBars).ToList(), spec), options.Bins);
        // At the close of bar t the targets of decision bars up to t - h are known.
        for (var t = ReferenceBars + Horizon + options.WindowSize; t < bars.Count; t++)
        {
            var window = new ArraySegment<double>(y, t - Horizon - options.WindowSize + 1, options.WindowSize);
            yield return (t, DriftMonitor.Assess(reference, window, Horizon, options).Breached);
        }
    }

    private static List<Bar> Market(int count, ulong seed, int changeAt)
    {
        var rng = new Random((int)seed);
        var bars = new List<Bar>(count);
        var price = 100.0;
        var start = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < count; i++)
        {
            var z = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            var open = price;
            price *= Math.Exp((i >= changeAt ? 2.5 : 1.0) * 0.01 * z);
            bars.Add(new Bar(start.AddDays(i), open, Math.Max(open, price), Math.Min(open, price), price, 1_000_000));
        }
        return bars;
    }

    /// <summary>
    /// A monitor that fell behind: a volatility model (Alpha158, with its reference stored as training stores it) watched on
    /// one series whose volatility rises x2.5 halfway through 2,000 bars after training (500 with --quick), of daily bars or
    /// of minute bars in sessions of 09:30 to 16:00 on weekdays (with ten sessions of history before training); every
    /// prediction is stored first, then one join settles them all and evaluates drift, on a monitoring service of its own
    /// (embedded) with <paramref name="cap"/> as <c>Monitoring:Drift:MaxEvaluationsPerJoin</c>. Prints the join's wall and
    /// CPU time, the window ends evaluated and the first detection after the change; returns the wall time in seconds.
    /// </summary>
    private static async Task<double> CatchUpAsync(BenchContext context, int cap, BarInterval interval, CancellationToken ct)
    {
        var minutes = interval == BarInterval.OneMinute;
        var history = minutes ? 10 * 390 : 0;
        var training = history + 500;
        const string model = "catchup", symbol = "CU";
        var after = context.Quick ? 500 : 2_000;
        var changeAt = training + after / 2;
        var bars = Market(training + after, 77, changeAt);
        if (minutes) bars = bars.Select((b, k) => b with { Time = SessionMinute(k) }).ToList();
        var dir = Path.Combine(context.WorkDir, $"catchup-{interval.Name}-{cap}");
        var limit = cap == int.MaxValue ? "none" : cap.ToString(CultureInfo.InvariantCulture);
        await using var host = await ServiceTestHost.StartAsync(MonitoringService.Module, new ServiceTestOptions
        {
            DataDir = dir,
            Settings = new Dictionary<string, string?>
            {
                ["Monitoring:Drift:MaxEvaluationsPerJoin"] = cap.ToString(CultureInfo.InvariantCulture),
                ["Logging:LogLevel:Default"] = "Error",
            },
        });
        var barStore = SqliteBarStore.InDataDir(dir);
        await barStore.InitializeAsync(ct);
        await barStore.WriteAsync(new BarWrite(bars.Select(b => new SymbolBar(symbol, interval, b)).ToList()), ct);
        var registry = host.Services.GetRequiredService<ModelRegistry>();
        var lineage = new ModelLineage("bench", FeatureSets.Alpha158V1.Id, FeatureSets.Alpha158V1.Hash, "volatility", Horizon, [symbol], bars[history].Time,
            bars[training - 1].Time, "ridge", new SortedDictionary<string, string>(StringComparer.Ordinal), 1, [], null, null, null, "bench");
        var version = (await registry.RegisterAsync(model, [1, 2, 3], lineage, null, ct)).Version;
        await registry.SaveFilesAsync(model, version, [Reference(bars.Skip(history).Take(training - history).ToList()).ToFile()], ct);
        var store = host.Services.GetRequiredService<IPredictionStore>();
        var now = DateTimeOffset.UtcNow;
        await store.AddPredictionsAsync(bars.Skip(training).Select((b, i) =>
            new PredictionRecord($"cu-{i}", model, version, symbol, interval.Name, b.Time, Horizon, "volatility", 0.01 * Math.Sqrt(Horizon), now)).ToList(), ct);

        var joiner = host.Services.GetRequiredService<OutcomeJoiner>();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var joined = await joiner.JoinAsync(symbol, interval.Name, bars[^1].Time, ct);
        watch.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        // Each outcome became known at a bar of its own: the join settled as many window ends as it wrote outcomes.
        var stride = OutcomeJoiner.Stride(joined, cap);
        var evaluated = (joined + stride - 1) / stride;
        var detections = await store.GetDriftAsync(model, 1000, ct);
        var first = detections.Where(d => d.WindowEnd >= bars[changeAt].Time).MinBy(d => d.WindowEnd);
        var delay = first is null ? "none" : $"{bars.FindIndex(b => b.Time == first.WindowEnd) - changeAt} bars after it";
        context.Line($"catch-up, {(minutes ? "minute" : "daily")} bars, bound {limit}: one join settled {joined:N0} predictions and evaluated drift at {evaluated:N0} window ends " +
            $"(every {stride} bars) in {watch.Elapsed.TotalSeconds:F2} s ({cpu.TotalSeconds:F2} s CPU, " +
            $"{watch.Elapsed.TotalMilliseconds / Math.Max(1, evaluated):F1} ms per window end, the join included); x2.5 volatility change at bar {changeAt - training} " +
            $"of {after}: first detection {delay}; {detections.Count} detections in all");
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>The open time of the <paramref name="k"/>-th minute of sessions 09:30 to 16:00 on weekdays from Monday 2024-01-01.</summary>
    private static DateTimeOffset SessionMinute(int k)
    {
        var (day, minute) = (k / 390, k % 390);
        var date = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(day / 5 * 7 + day % 5);
        return date.AddHours(9.5).AddMinutes(minute);
    }

    /// <summary>The reference training stores with a version: Alpha158 profiles over the training bars, and its predictions'.</summary>
    private static ModelReference Reference(List<Bar> training)
    {
        var set = FeatureSets.Alpha158V1;
        var rows = FeatureBatch.Replay(() => FeatureSets.CreateCalculator(set.Id), training);
        var features = Enumerable.Range(0, set.Count)
            .Select(j => (Name: set.Features[j], Values: rows.Select(r => r[j]).Where(double.IsFinite).ToList()))
            .Where(c => c.Values.Count > 0)
            .ToDictionary(c => c.Name, c => ReferenceProfile.From(c.Values, 10, ModelReference.FeatureSketchSize));
        var predictions = ReferenceProfile.From(Targets.Compute(training, new TargetSpec(TargetKind.Volatility, Horizon)).Where(double.IsFinite), 10);
        return new ModelReference(set.Id, 10, training[0].Time, training[^1].Time, training.Count, features, predictions, null, null);
    }

    private sealed class NoDrift : IDriftEvaluator
    {
        public Task<DriftDetected?> EvaluateAsync(string model, int version, BarInterval interval, DateTimeOffset windowEnd, CancellationToken ct) =>
            Task.FromResult<DriftDetected?>(null);
    }

    /// <summary>
    /// Joins <paramref name="predictions"/> stored predictions of 10 daily series in one pass per series; then, as each
    /// following bar would, joins every series again with nothing left to settle, and prints what that costs per series:
    /// the price of a bar's join once the series has a history of joined predictions.
    /// </summary>
    private static async Task<(long Joined, double Seconds)> JoinsAsync(BenchContext context, int predictions, CancellationToken ct)
    {
        const int symbols = 10;
        var barsStore = SqliteBarStore.InDataDir(context.WorkDir);
        await barsStore.InitializeAsync(ct);
        var store = SqlitePredictionStore.InDataDir(context.WorkDir);
        await store.InitializeAsync(ct);
        var perSymbol = predictions / symbols;
        var now = DateTimeOffset.UtcNow;
        var storing = TimeSpan.Zero;
        for (var s = 0; s < symbols; s++)
        {
            var symbol = $"S{s}";
            var series = Market(perSymbol + 100, (ulong)(500 + s), int.MaxValue);
            await barsStore.WriteAsync(new BarWrite(series.Select(b => new SymbolBar(symbol, BarInterval.OneDay, b)).ToList()), ct);
            var rows = series.Take(perSymbol).Select((b, i) =>
                new PredictionRecord($"{symbol}-{i}", "bench", 1, symbol, "1d", b.Time, Horizon, "volatility", 0.02, now)).ToList();
            var start = Stopwatch.GetTimestamp();
            await store.AddPredictionsAsync(rows, ct);
            storing += Stopwatch.GetElapsedTime(start);
        }
        context.Line($"predictions stored: {perSymbol * symbols:N0} in batches of {perSymbol:N0} in {storing.TotalSeconds:F2} s = " +
            $"{perSymbol * symbols / storing.TotalSeconds:N0}/s on the embedded SQLite store");
        var joiner = new OutcomeJoiner(store, barsStore, new MonitoringOptions(), new NoDrift(), new MonitoringMetrics(), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<OutcomeJoiner>.Instance);
        var ends = Enumerable.Range(0, symbols).ToDictionary(s => $"S{s}", s => Market(perSymbol + 100, (ulong)(500 + s), int.MaxValue)[^1].Time);
        var watch = Stopwatch.StartNew();
        long joined = 0;
        foreach (var (symbol, end) in ends) joined += await joiner.JoinAsync(symbol, "1d", end, ct);
        watch.Stop();
        var perBar = new List<double>();
        for (var round = 0; round < 5; round++)
            foreach (var (symbol, end) in ends)
            {
                var start = Stopwatch.GetTimestamp();
                await joiner.JoinAsync(symbol, "1d", end, ct);
                perBar.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        perBar.Sort();
        context.Line($"a bar's join with nothing to settle, on a series of {perSymbol:N0} joined predictions: p50 {perBar[perBar.Count / 2]:F3} ms, " +
            $"max {perBar[^1]:F3} ms ({perBar.Count} joins)");
        return (joined, watch.Elapsed.TotalSeconds);
    }
}
