using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Platform.Features.Pipeline;

/// <summary>
/// The pipeline's counters, exported under the meter <c>Platform.Features</c> (Prometheus: <c>features_bars_*_total</c>)
/// and readable in-process for tests and diagnostics. Each is tagged with the feature set. The time a batch of streamed
/// bars spends in each step is the histogram <c>features.batch.stage.duration</c> (seconds, tagged <c>stage</c>: one of
/// <see cref="Stage.All"/>), so a deployment sees where the time goes.
/// </summary>
public sealed class FeatureMetrics : IDisposable
{
    public const string MeterName = "Platform.Features";

    private readonly Meter _meter = new(MeterName);
    /// <summary>The steps of a streamed batch, the values of the <c>stage</c> tag.</summary>
    public static class Stage
    {
        /// <summary>Reading the checkpoints and the stored bars a gap may need; rebuilding a stream after a restart.</summary>
        public const string Load = "load";
        /// <summary>The calculators, and encoding the vectors' events.</summary>
        public const string Compute = "compute";
        public const string History = "history";
        public const string FeatureStore = "featurestore";
        public const string Publish = "publish";
        public const string Checkpoint = "checkpoint";
        public static readonly IReadOnlyList<string> All = [Load, Compute, History, FeatureStore, Publish, Checkpoint];
    }

    private readonly Histogram<double> _stageSeconds;
    private readonly Counter<long> _processed, _duplicates, _outOfOrder, _gapFilled, _recomputed, _rebuildMismatches, _invalid;
    private long _processedCount, _duplicateCount, _outOfOrderCount, _gapFilledCount, _recomputedCount, _rebuildMismatchCount, _invalidCount;

    public FeatureMetrics()
    {
        _processed = _meter.CreateCounter<long>("features.bars.processed", description: "Bars turned into feature vectors by streaming updates.");
        _duplicates = _meter.CreateCounter<long>("features.bars.duplicate", description: "Redelivered bars ignored (at or before the last processed time and already computed).");
        _outOfOrder = _meter.CreateCounter<long>("features.bars.out_of_order", description: "Bars older than the last processed bar that were never computed; ignored, reported.");
        _gapFilled = _meter.CreateCounter<long>("features.bars.gap_filled", description: "Stored bars without an event, computed from the offline store to close a gap.");
        _recomputed = _meter.CreateCounter<long>("features.bars.recomputed", description: "Bars recomputed in batch after a BarsImported.");
        _rebuildMismatches = _meter.CreateCounter<long>("features.rebuild.mismatch", description: "Rebuilds whose stored bars did not match the checkpoint's count.");
        _invalid = _meter.CreateCounter<long>("features.bars.invalid", description: "Bar events that cannot be computed (unknown interval).");
        _stageSeconds = _meter.CreateHistogram<double>("features.batch.stage.duration", unit: "s", description: "Time a batch of streamed bars spent in one step.");
    }

    public long Processed => Interlocked.Read(ref _processedCount);
    public long Duplicates => Interlocked.Read(ref _duplicateCount);
    public long OutOfOrder => Interlocked.Read(ref _outOfOrderCount);
    public long GapFilled => Interlocked.Read(ref _gapFilledCount);
    public long Recomputed => Interlocked.Read(ref _recomputedCount);
    public long RebuildMismatches => Interlocked.Read(ref _rebuildMismatchCount);
    public long Invalid => Interlocked.Read(ref _invalidCount);

    internal void OnProcessed(string set, long bars = 1) => Add(_processed, ref _processedCount, bars, set);
    internal void OnDuplicate(string set) => Add(_duplicates, ref _duplicateCount, 1, set);
    internal void OnOutOfOrder(string set) => Add(_outOfOrder, ref _outOfOrderCount, 1, set);
    internal void OnGapFilled(string set, long bars) => Add(_gapFilled, ref _gapFilledCount, bars, set);
    internal void OnRecomputed(string set, long bars) => Add(_recomputed, ref _recomputedCount, bars, set);
    internal void OnRebuildMismatch(string set) => Add(_rebuildMismatches, ref _rebuildMismatchCount, 1, set);
    internal void OnInvalid() => Add(_invalid, ref _invalidCount, 1, null);

    /// <summary>Records the time since <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) as spent in <paramref name="stage"/>.</summary>
    internal void OnStage(string stage, long started) =>
        _stageSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("stage", stage));

    private static void Add(Counter<long> counter, ref long total, long n, string? set)
    {
        Interlocked.Add(ref total, n);
        if (set is null) counter.Add(n);
        else counter.Add(n, new KeyValuePair<string, object?>("feature_set", set));
    }

    public void Dispose() => _meter.Dispose();
}
