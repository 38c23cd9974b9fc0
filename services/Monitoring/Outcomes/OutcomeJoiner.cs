using Platform.Modeling.Targets;
using Platform.Monitoring.Drift;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.Quant;

namespace Platform.Monitoring.Outcomes;

/// <summary>
/// Joins predictions with their realised targets as bars arrive: for a bar of (symbol, interval) at time T, every
/// stored prediction of that series made before T without an outcome whose horizon has passed gets one. Outcomes are
/// written once (a redelivered bar finds nothing pending); then drift is evaluated for the models that got outcomes, at
/// every bar where one of those outcomes became known, oldest first. A join that catches up (predictions stored after
/// the bars that settle them, or a monitor behind the market) thus evaluates the same windows as one that kept pace,
/// instead of only the window ending at T: a drift is found where it began, however late the join ran. A join evaluates
/// at most <see cref="DriftOptions.MaxEvaluationsPerJoin"/> window ends per model version (<see cref="WindowEnds"/>): a long
/// catch-up then finds a drift within a stride of where it began, in bounded time.
/// </summary>
public sealed class OutcomeJoiner(IPredictionStore store, IBarReader bars, MonitoringOptions options, IDriftEvaluator drift,
    MonitoringMetrics metrics, TimeProvider clock, ILogger<OutcomeJoiner> logger)
{
    /// <summary>Joins what is due for the series up to <paramref name="upTo"/> (inclusive); returns how many outcomes were written.</summary>
    public async Task<int> JoinAsync(string symbol, string interval, DateTimeOffset upTo, CancellationToken ct)
    {
        var barInterval = BarInterval.Parse(interval);
        var total = 0;
        var known = new Dictionary<(string Model, int Version), SortedSet<DateTimeOffset>>();
        (DateTimeOffset, string)? after = null;
        DateTimeOffset? firstBar = null;
        while (true)
        {
            var pending = await store.GetPendingAsync(symbol, barInterval.Name, upTo, options.Outcomes.BatchSize, after, ct);
            if (pending.Count == 0) break;
            var (outcomes, unsettled) = await SettleAsync(pending);
            if (outcomes.Count > 0)
            {
                var written = await store.AddOutcomesAsync(outcomes, ct);
                total += written;
                metrics.OutcomesJoined(written);
            }
            // A full page with nothing due means the rest is not due either (pending is oldest first), unless some of it could
            // not be settled at all: those stay pending, and the next page starts after them.
            if (pending.Count < options.Outcomes.BatchSize || outcomes.Count + unsettled == 0) break;
            after = (pending[^1].Time, pending[^1].RequestId);
        }

        var cap = options.Drift.MaxEvaluationsPerJoin;
        foreach (var ((model, version), ends) in known)
        {
            var evaluated = WindowEnds(ends.ToList(), cap);
            if (evaluated.Count < ends.Count)
            {
                metrics.DriftWindowsSkipped(model, ends.Count - evaluated.Count);
                logger.LogInformation(
                    "The join of {Symbol} {Interval} settled {Ends} drift windows of {Model} v{Version} ({From:o} to {To:o}): evaluating {Evaluated} of them, " +
                    "every {Stride} bars back from the newest (Monitoring:Drift:MaxEvaluationsPerJoin is {Cap})",
                    symbol, barInterval.Name, ends.Count, model, version, ends.Min, ends.Max, evaluated.Count, Stride(ends.Count, cap), cap);
            }
            foreach (var end in evaluated)
                await drift.EvaluateAsync(model, version, barInterval, end, ct);
        }
        return total;

        // The outcomes the stored bars give a page of pending predictions, and how many of them no stored bar can settle (no
        // bar at or before it, or no defined target from the bars there are): those stay pending until other bars are stored.
        async Task<(List<OutcomeRecord> Outcomes, int Unsettled)> SettleAsync(IReadOnlyList<PredictionRecord> pending)
        {
            var maxHorizon = pending.Max(p => p.Horizon);
            // Enough history before the oldest decision for the 'last' and trailing baselines, with room for closed days.
            var lookback = TimeSpan.FromTicks(barInterval.Length.Ticks * (2 * (options.Outcomes.TrailingBars + maxHorizon) + 10));
            var oldest = pending[0].Time;
            if (oldest < upTo - lookback)
            {
                // A page that starts well before this bar may start before the series' first stored bar. What is older than
                // that bar cannot be settled, and reading bars from its time would read the series' whole history on every
                // bar: the read starts at the first prediction the stored bars can settle.
                firstBar ??= (await bars.CoverageOfAsync(symbol, barInterval, ct))?.First ?? DateTimeOffset.MaxValue;
                if (pending.FirstOrDefault(p => p.Time >= firstBar) is not { } settleable) return ([], pending.Count);
                oldest = settleable.Time;
            }
            var outcomes = new List<OutcomeRecord>();
            var series = await bars.GetBarsAsync(new BarQuery(symbol, barInterval, oldest - lookback, upTo.AddTicks(1)), ct);
            if (series.Count == 0) return (outcomes, 0);
            var math = new OutcomeMath(series, options.Outcomes.TrailingBars);
            var now = clock.GetUtcNow();
            var unsettled = 0;
            foreach (var p in pending)
            {
                var decision = math.DecisionBar(p.Time);
                var outcome = math.Outcome(decision, new TargetSpec(TargetSpec.ParseKind(p.Target), p.Horizon));
                if (decision < 0 || (outcome is { } undefined && double.IsNaN(undefined.Realised))) unsettled++;
                // Otherwise null only while its horizon has not passed.
                else if (outcome is { } o)
                {
                    outcomes.Add(new OutcomeRecord(p.RequestId, o.Realised, o.Last, o.Trailing, o.KnownAt, now));
                    if (!known.TryGetValue((p.Model, p.Version), out var ends)) known[(p.Model, p.Version)] = ends = [];
                    ends.Add(o.KnownAt);
                }
            }
            return (outcomes, unsettled);
        }
    }

    /// <summary>
    /// The window ends (oldest first) a join evaluates out of <paramref name="ends"/> (oldest first): all of them when they
    /// are at most <paramref name="cap"/>; otherwise every k-th counted back from the newest, which is always evaluated,
    /// with k = <see cref="Stride"/>, so at most <paramref name="cap"/>.
    /// </summary>
    public static IReadOnlyList<DateTimeOffset> WindowEnds(IReadOnlyList<DateTimeOffset> ends, int cap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, 1);
        if (ends.Count <= cap) return ends;
        var stride = Stride(ends.Count, cap);
        var picked = new DateTimeOffset[(ends.Count + stride - 1) / stride];
        for (int i = ends.Count - 1, k = picked.Length - 1; i >= 0; i -= stride, k--) picked[k] = ends[i];
        return picked;
    }

    /// <summary>Bars between two evaluated window ends when <paramref name="count"/> ends exceed <paramref name="cap"/>.</summary>
    public static int Stride(int count, int cap) => count <= cap ? 1 : (count + cap - 1) / cap;
}
