using Platform.Monitoring.Drift;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Monitoring.Tests;

/// <summary>
/// The bars the drift monitor replays for a window's features (<see cref="DriftMonitor.HistoryAsync"/>), read from the real
/// embedded bar store: enough for the feature set's warm-up before the window, however the market's sessions fall, so the
/// window's Alpha158 values are those of a replay of the whole series.
/// </summary>
public sealed class DriftHistoryTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("drift-history-").FullName;
    private SqliteBarStore _store = null!;
    private static readonly int WarmUp = FeatureSets.CreateCalculator(FeatureSets.Alpha158V1.Id).WarmUpPeriod;

    public async Task InitializeAsync()
    {
        _store = SqliteBarStore.InDataDir(_dir);
        await _store.InitializeAsync();
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    /// <summary>Minute bars of a market open 09:30 to 16:00 on weekdays, for <paramref name="weeks"/> weeks from a Monday.</summary>
    private static List<Bar> SessionMinutes(int weeks)
    {
        var days = RegimeSeries.Generate(weeks * 7 * 390, seed: 9);
        var monday = new DateTimeOffset(2024, 3, 4, 0, 0, 0, TimeSpan.Zero);
        var bars = new List<Bar>();
        for (var d = 0; d < weeks * 7; d++)
        {
            var date = monday.AddDays(d);
            if (date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) continue;
            for (var m = 0; m < 390; m++)
                bars.Add(days[bars.Count] with { Time = date.AddHours(9.5).AddMinutes(m) });
        }
        return bars;
    }

    private async Task<List<Bar>> StoreAsync(string symbol, BarInterval interval, List<Bar> bars)
    {
        await _store.WriteAsync(new BarWrite(bars.Select(b => new SymbolBar(symbol, interval, b)).ToList()));
        return bars;
    }

    /// <summary>The read's Alpha158 values at the window's times equal those of a replay of the whole series.</summary>
    private static void AssertSameFeatures(List<Bar> series, IReadOnlyList<Bar> read, int firstIndex, int lastIndex)
    {
        Func<IFeatureCalculator> alpha = () => FeatureSets.CreateCalculator(FeatureSets.Alpha158V1.Id);
        var whole = FeatureBatch.Replay(alpha, series);
        var part = FeatureBatch.Replay(alpha, read);
        var offset = read.ToList().FindIndex(b => b.Time == series[firstIndex].Time);
        Assert.True(offset >= WarmUp, $"{offset} bars before the window; the warm-up is {WarmUp}");
        for (var i = firstIndex; i <= lastIndex; i++)
            for (var j = 0; j < whole[i].Length; j++)
            {
                var (expected, actual) = (whole[i][j], part[offset + i - firstIndex][j]);
                if (double.IsNaN(expected)) Assert.True(double.IsNaN(actual), $"bar {i}, feature {j}: {actual} where the whole replay has NaN");
                else Assert.True(Math.Abs(expected - actual) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"bar {i}, feature {j}: {actual} vs {expected}");
            }
    }

    [Fact]
    public async Task HistoryAsync_DailyBars_HoldsTheWarmUpBeforeTheWindowAndGivesTheWholeReplaysFeatures()
    {
        var series = await StoreAsync("DAY", BarInterval.OneDay, RegimeSeries.Generate(600, seed: 4));

        var read = await DriftMonitor.HistoryAsync(_store, "DAY", BarInterval.OneDay, series[400].Time, series[459].Time, WarmUp, CancellationToken.None);

        Assert.Equal(series[459].Time, read[^1].Time);
        // Twice the warm-up's span back, no more: not the whole series.
        Assert.Equal(series[400 - 2 * WarmUp].Time, read[0].Time);
        AssertSameFeatures(series, read, 400, 459);
    }

    [Fact]
    public async Task HistoryAsync_MinuteBarsOnMondayMorning_ReachesBackOverTheWeekendAndGivesTheWholeReplaysFeatures()
    {
        var series = await StoreAsync("MIN", BarInterval.OneMinute, SessionMinutes(weeks: 3));
        // The second Monday's first hour: the warm-up lies in the Friday before it.
        var first = series.FindIndex(b => b.Time == new DateTimeOffset(2024, 3, 11, 9, 30, 0, TimeSpan.Zero));

        var read = await DriftMonitor.HistoryAsync(_store, "MIN", BarInterval.OneMinute, series[first].Time, series[first + 59].Time, WarmUp, CancellationToken.None);

        Assert.Equal(series[first + 59].Time, read[^1].Time);
        // Less than the week before it: the read stops once it holds the warm-up.
        Assert.True(read.Count < 5 * 390, $"{read.Count} bars read for a 60-minute window");
        AssertSameFeatures(series, read, first, first + 59);
    }

    [Fact]
    public async Task HistoryAsync_FewerBarsThanTheWarmUpBeforeTheWindow_ReturnsEveryOlderBar()
    {
        var series = await StoreAsync("NEW", BarInterval.OneDay, RegimeSeries.Generate(100, seed: 6));

        var read = await DriftMonitor.HistoryAsync(_store, "NEW", BarInterval.OneDay, series[20].Time, series[79].Time, WarmUp, CancellationToken.None);

        Assert.Equal(series.Take(80).Select(b => b.Time), read.Select(b => b.Time));
    }
}
