using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Monitoring.Drift;
using Platform.Monitoring.Outcomes;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.Quant;

namespace Platform.Monitoring.Tests;

/// <summary>Which window ends a catching-up join evaluates (<see cref="OutcomeJoiner.WindowEnds"/>).</summary>
public sealed class WindowEndsTests
{
    private static readonly DateTimeOffset Start = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<DateTimeOffset> Days(int count) => Enumerable.Range(0, count).Select(i => Start.AddDays(i)).ToList();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(60, 100)]
    [InlineData(100, 100)]
    public void WindowEnds_AtMostTheBound_EvaluatesEveryEnd(int count, int cap)
    {
        var ends = Days(count);

        Assert.Equal(ends, OutcomeJoiner.WindowEnds(ends, cap));
        Assert.Equal(1, OutcomeJoiner.Stride(count, cap));
    }

    [Theory]
    [InlineData(101, 100, 2)]
    [InlineData(195, 10, 20)]
    [InlineData(2_000, 100, 20)]
    [InlineData(10_080, 100, 101)]
    public void WindowEnds_MoreThanTheBound_EveryStrideBackFromTheNewestAndNoMoreThanTheBound(int count, int cap, int stride)
    {
        var ends = Days(count);

        var picked = OutcomeJoiner.WindowEnds(ends, cap);

        Assert.Equal(stride, OutcomeJoiner.Stride(count, cap));
        Assert.InRange(picked.Count, 1, cap);
        Assert.Equal(ends[^1], picked[^1]);
        // Oldest first, a stride apart, and none older than the first stride from the start left out.
        for (var i = 1; i < picked.Count; i++) Assert.Equal(TimeSpan.FromDays(stride), picked[i] - picked[i - 1]);
        Assert.True(picked[0] - ends[0] < TimeSpan.FromDays(stride), $"the oldest evaluated end {picked[0]:d} leaves more than a stride unevaluated");
    }

    [Fact]
    public void WindowEnds_BoundBelowOne_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => OutcomeJoiner.WindowEnds(Days(3), 0));
}

/// <summary>
/// The joiner on the real embedded stores, with a drift evaluator that records what it is asked: every prediction of a
/// series is stored before the bars that settle it, then one join settles them all.
/// </summary>
public sealed class OutcomeJoinerCatchUpTests : IAsyncLifetime
{
    private const int Predictions = 195;
    // A name of its own: the metric is process-wide, and other suites' joins run beside this one.
    private const string Model = "joiner-bound";
    private readonly List<Bar> _bars = RegimeSeries.Generate(Predictions + 10, seed: 5);
    private MonitoringHost _host = null!;

    private sealed class RecordingEvaluator : IDriftEvaluator
    {
        public List<DateTimeOffset> Ends { get; } = [];

        public Task<DriftDetected?> EvaluateAsync(string model, int version, BarInterval interval, DateTimeOffset windowEnd, CancellationToken ct)
        {
            Ends.Add(windowEnd);
            return Task.FromResult<DriftDetected?>(null);
        }
    }

    public async Task InitializeAsync()
    {
        _host = await MonitoringHost.StartAsync();
        await _host.WriteBarsAsync("AAA", _bars);
        var now = DateTimeOffset.UtcNow;
        await _host.Store.AddPredictionsAsync(_bars.Take(Predictions).Select((b, i) =>
            new PredictionRecord($"p{i}", Model, 1, "AAA", "1d", b.Time, 5, "volatility", 0.02, now)).ToList());
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private (OutcomeJoiner Joiner, RecordingEvaluator Drift) Joiner(int cap)
    {
        var options = new MonitoringOptions();
        options.Drift.MaxEvaluationsPerJoin = cap;
        var drift = new RecordingEvaluator();
        var joiner = new OutcomeJoiner(_host.Store, _host.Services.GetRequiredService<IBarReader>(), options, drift,
            _host.Services.GetRequiredService<MonitoringMetrics>(), TimeProvider.System, NullLogger<OutcomeJoiner>.Instance);
        return (joiner, drift);
    }

    [Fact]
    public async Task JoinAsync_MoreWindowEndsThanTheBound_EvaluatesEveryStrideBackFromTheNewestAndCountsTheRest()
    {
        var skipped = new ConcurrentQueue<long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MonitoringMetrics.MeterName && instrument.Name == "monitoring_drift_windows_skipped")
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "model" && Equals(tag.Value, Model)) skipped.Enqueue(value);
        });
        listener.Start();
        var (joiner, drift) = Joiner(cap: 10);

        var joined = await joiner.JoinAsync("AAA", "1d", _bars[^1].Time, CancellationToken.None);

        // Every prediction with five bars after it is settled, each at a bar of its own: 195 window ends, 10 evaluated.
        Assert.Equal(Predictions, joined);
        Assert.Equal(10, drift.Ends.Count);
        Assert.Equal(_bars[Predictions - 1 + 5].Time, drift.Ends[^1]);
        for (var i = 1; i < drift.Ends.Count; i++) Assert.Equal(TimeSpan.FromDays(20), drift.Ends[i] - drift.Ends[i - 1]);
        Assert.Equal(Predictions - 10, skipped.Sum());
    }

    [Fact]
    public async Task JoinAsync_WindowEndsWithinTheBound_EvaluatesEachOnceOldestFirst()
    {
        var (joiner, drift) = Joiner(cap: Predictions);

        await joiner.JoinAsync("AAA", "1d", _bars[^1].Time, CancellationToken.None);

        Assert.Equal(_bars.Skip(5).Take(Predictions).Select(b => b.Time), drift.Ends);
    }
}

/// <summary>How a join pages through what is pending, on the real embedded stores.</summary>
public sealed class OutcomeJoinerPagingTests : IAsyncLifetime
{
    private readonly List<Bar> _bars = RegimeSeries.Generate(200, seed: 8);
    private MonitoringHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await MonitoringHost.StartAsync();
        await _host.WriteBarsAsync("AAA", _bars);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task JoinAsync_AFullPageThatNoStoredBarSettles_JoinsThePredictionsAfterIt()
    {
        var now = DateTimeOffset.UtcNow;
        // A page's worth of predictions older than every stored bar of the series (nothing to settle them with), then
        // predictions on the stored bars.
        var early = Enumerable.Range(0, 10).Select(i =>
            new PredictionRecord($"early{i}", "paged", 1, "AAA", "1d", _bars[0].Time.AddDays(-30 + i), 5, "volatility", 0.02, now));
        var onBars = _bars.Take(30).Select((b, i) => new PredictionRecord($"p{i}", "paged", 1, "AAA", "1d", b.Time, 5, "volatility", 0.02, now));
        await _host.Store.AddPredictionsAsync([.. early, .. onBars]);
        var options = new MonitoringOptions();
        options.Outcomes.BatchSize = 10;
        var joiner = new OutcomeJoiner(_host.Store, _host.Services.GetRequiredService<IBarReader>(), options,
            _host.Services.GetRequiredService<IDriftEvaluator>(), _host.Services.GetRequiredService<MonitoringMetrics>(), TimeProvider.System,
            NullLogger<OutcomeJoiner>.Instance);

        var joined = await joiner.JoinAsync("AAA", "1d", _bars[^1].Time, CancellationToken.None);

        Assert.Equal(30, joined);
        var pending = await _host.Store.GetPendingAsync("AAA", "1d", DateTimeOffset.MaxValue, 100);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"early{i}"), pending.Select(p => p.RequestId));
    }

    /// <summary>The real bar store, with the ranges asked of it recorded.</summary>
    private sealed class RecordingBars(IBarReader inner) : IBarReader
    {
        public List<BarQuery> Queries { get; } = [];

        public Task<IReadOnlyList<Bar>> GetBarsAsync(BarQuery query, CancellationToken ct = default)
        {
            Queries.Add(query);
            return inner.GetBarsAsync(query, ct);
        }

        public IAsyncEnumerable<Bar> StreamBarsAsync(BarQuery query, CancellationToken ct = default) => inner.StreamBarsAsync(query, ct);

        public Task<IReadOnlyList<SeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default) =>
            inner.GetCoverageAsync(symbol, ct);
    }

    [Fact]
    public async Task JoinAsync_PendingOlderThanEveryStoredBar_ReadsBarsOnlyAroundWhatTheBarsCanSettle()
    {
        var now = DateTimeOffset.UtcNow;
        // Predictions a year older than the series' first stored bar, and one recent prediction whose horizon has not passed.
        var early = Enumerable.Range(0, 3).Select(i =>
            new PredictionRecord($"early{i}", "paged", 1, "AAA", "1d", _bars[0].Time.AddDays(-365 + i), 5, "volatility", 0.02, now));
        await _host.Store.AddPredictionsAsync([.. early, new PredictionRecord("recent", "paged", 1, "AAA", "1d", _bars[197].Time, 5, "volatility", 0.02, now)]);
        var bars = new RecordingBars(_host.Services.GetRequiredService<IBarReader>());
        var joiner = new OutcomeJoiner(_host.Store, bars, new MonitoringOptions(), _host.Services.GetRequiredService<IDriftEvaluator>(),
            _host.Services.GetRequiredService<MonitoringMetrics>(), TimeProvider.System, NullLogger<OutcomeJoiner>.Instance);

        var joined = await joiner.JoinAsync("AAA", "1d", _bars[^1].Time, CancellationToken.None);

        Assert.Equal(0, joined);
        // One read, for the recent prediction and the history its baselines need: not the series from its first bar.
        var read = Assert.Single(bars.Queries);
        Assert.True(read.From > _bars[100].Time, $"the join read bars from {read.From:o}; the series starts {_bars[0].Time:o}");
    }
}
