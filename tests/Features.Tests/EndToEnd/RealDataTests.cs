using Platform.BuildingBlocks.PubSub;
using Platform.Features.History;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.Tests.EndToEnd;

/// <summary>
/// Streaming equals batch on the real daily files in <c>../shared/data/market</c> (Yahoo CSV): each series goes through
/// the pipeline as an import of its first 60 % and BarClosed events for the rest; the stored history must equal
/// <see cref="BatchFeatures"/> over the stored bars, bit for bit.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RealDataTests(ITestOutputHelper output)
{
    private static readonly string[] Sets = [FeatureSets.Alpha158V1.Id, FeatureSets.IndicatorsV1.Id];

    /// <summary>
    /// <c>../shared/data/market</c> beside the directory holding Platform.sln, found above the test binaries (or, when they
    /// are built under another artifacts path, above this source file).
    /// </summary>
    public static string MarketDataDirectory([System.Runtime.CompilerServices.CallerFilePath] string source = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(source) ?? "" })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
                    return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "market"));
        throw new DirectoryNotFoundException("No Platform.sln above " + AppContext.BaseDirectory + " or " + source);
    }

    /// <summary>Date,Open,High,Low,Close,Adj Close,Volume; rows the offline store would refuse are skipped.</summary>
    public static IReadOnlyList<Bar> ReadYahoo(string path)
    {
        var bars = new List<Bar>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length < 7 || f.Skip(1).Any(x => x is "null" or "")) continue;
            double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
            var time = new DateTimeOffset(DateTime.ParseExact(f[0], "yyyy-MM-dd", CultureInfo.InvariantCulture), TimeSpan.Zero);
            var bar = new Bar(time, D(1), D(2), D(3), D(4), D(6), D(5));
            if (BarValidation.Check(bar, BarInterval.OneDay) is null && (bars.Count == 0 || bars[^1].Time < time)) bars.Add(bar);
        }
        return bars;
    }

    [Theory]
    [InlineData("nvda-daily.csv")]
    [InlineData("orcl-daily.csv")]
    [InlineData("yhoo-daily.csv")]
    public async Task Pipeline_RealDailyFile_StreamingEqualsBatch(string file)
    {
        var bars = ReadYahoo(Path.Combine(MarketDataDirectory(), file));
        Assert.True(bars.Count > 3000, $"{file}: {bars.Count} bars");
        var symbol = file.Split('-')[0].ToUpperInvariant();
        await using var app = await FeaturesApp.StartAsync();
        await app.StoreAsync(symbol, bars);

        var split = bars.Count * 6 / 10;
        var clock = Stopwatch.StartNew();
        await app.Publisher.PublishAsync(new BarsImported("real-" + symbol, symbol, "1d", bars[0].Time, bars[split - 1].Time, split));
        await app.WaitForLatestAsync(symbol, bars[split - 1].Time, Sets, TimeSpan.FromMinutes(2));
        var imported = clock.Elapsed;
        clock.Restart();
        foreach (var b in bars.Skip(split)) await app.Publisher.PublishAsync(FeaturesApp.Event(symbol, b));
        await app.WaitForLatestAsync(symbol, bars[^1].Time, Sets, TimeSpan.FromMinutes(5));
        var streamed = clock.Elapsed;
        output.WriteLine($"{symbol}: {split} bars imported in {imported.TotalMilliseconds:F0} ms; {bars.Count - split} bars streamed in {streamed.TotalMilliseconds:F0} ms " +
            $"({(bars.Count - split) / streamed.TotalSeconds:F0} bars/s, both sets, every bar written to history, featurestore, checkpoint and published)");

        Assert.Equal(0, app.Metrics.OutOfOrder + app.Metrics.Duplicates + app.Metrics.GapFilled + app.Metrics.RebuildMismatches);
        foreach (var set in Sets)
        {
            var expected = (await ExpectedFeatures.ComputeAsync(app.Bars, [symbol], BarInterval.OneDay, null, null, set))[0];
            var rows = await app.History.GetAsync(new FeatureHistoryQuery(set, symbol, BarInterval.OneDay));
            Assert.Equal(expected.Times, rows.Select(r => r.Time).ToList());
            for (var i = 0; i < rows.Count; i++) TestBars.Identical(expected.Values[i], rows[i].Values, $"{symbol} {set} bar {i}");
            // Batch over a sub-range warms up from the first stored bar: the same values as the full history.
            var from = bars[bars.Count / 2].Time;
            var tail = (await ExpectedFeatures.ComputeAsync(app.Bars, [symbol], BarInterval.OneDay, from, null, set))[0];
            var offset = bars.Count / 2;
            for (var i = 0; i < tail.Count; i++) TestBars.Identical(expected.Values[offset + i], tail.Values[i], $"{symbol} {set} ranged bar {i}");
        }
    }
}
