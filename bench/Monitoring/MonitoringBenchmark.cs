using System.Diagnostics;
using Platform.Contracts;
using Platform.Modeling.Drift;
using Platform.Modeling.Targets;
using Platform.Monitoring;
using Platform.Monitoring.Drift;
using Platform.Monitoring.Outcomes;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;

namespace Platform.Bench.Monitoring;

/// <summary>
/// The monitoring loop's figures. Drift: seeded daily markets (log-normal returns, 1% daily volatility), a 5-bar
/// realised-volatility target, a reference from the first 500 bars, windows of the default size sliding one bar at a
/// time, judged by the service's own <see cref="DriftMonitor.Assess"/> with the default thresholds. Detection delay:
/// bars from a x2.5 volatility change to the first window that drifts (median over 20 markets); false alarms: windows
/// that drift on stationary markets, per 1,000. Joins: predictions joined with outcomes per second by the service's
/// <see cref="OutcomeJoiner"/> on the embedded SQLite stores.
/// </summary>
public sealed class MonitoringBenchmark : IBenchmark
{
    private const int Horizon = 5;
    private const int ReferenceBars = 500;
    private const int ChangeAt = 800;

    public string Name => "monitoring";
    public string Description => "drift detection delay after a x2.5 volatility change (median of 20 markets), false alarms per 1,000 windows, outcome joins/s";

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
        return $"monitoring: detection delay median {median} bars, false alarms {perThousand:F2}/1,000 windows, joins {rate:N0}/s";
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

    private sealed class NoDrift : IDriftEvaluator
    {
        public Task<DriftDetected?> EvaluateAsync(string model, int version, BarInterval interval, DateTimeOffset windowEnd, CancellationToken ct) =>
            Task.FromResult<DriftDetected?>(null);
    }

    private static async Task<(long Joined, double Seconds)> JoinsAsync(BenchContext context, int predictions, CancellationToken ct)
    {
        const int symbols = 10;
        var barsStore = SqliteBarStore.InDataDir(context.WorkDir);
        await barsStore.InitializeAsync(ct);
        var store = SqlitePredictionStore.InDataDir(context.WorkDir);
        await store.InitializeAsync(ct);
        var perSymbol = predictions / symbols;
        var now = DateTimeOffset.UtcNow;
        for (var s = 0; s < symbols; s++)
        {
            var symbol = $"S{s}";
            var series = Market(perSymbol + 100, (ulong)(500 + s), int.MaxValue);
            await barsStore.WriteAsync(new BarWrite(series.Select(b => new SymbolBar(symbol, BarInterval.OneDay, b)).ToList()), ct);
            var rows = series.Take(perSymbol).Select((b, i) =>
                new PredictionRecord($"{symbol}-{i}", "bench", 1, symbol, "1d", b.Time, Horizon, "volatility", 0.02, now)).ToList();
            await store.AddPredictionsAsync(rows, ct);
        }
        var joiner = new OutcomeJoiner(store, barsStore, new MonitoringOptions(), new NoDrift(), new MonitoringMetrics(), TimeProvider.System);
        var ends = Enumerable.Range(0, symbols).ToDictionary(s => $"S{s}", s => Market(perSymbol + 100, (ulong)(500 + s), int.MaxValue)[^1].Time);
        var watch = Stopwatch.StartNew();
        long joined = 0;
        foreach (var (symbol, end) in ends) joined += await joiner.JoinAsync(symbol, "1d", end, ct);
        watch.Stop();
        return (joined, watch.Elapsed.TotalSeconds);
    }
}
