using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.MarketData.Import;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Synthetic;

namespace Platform.MarketData.Demo;

/// <summary>
/// Seeds a synthetic demo universe (daily bars, several years) when the offline store is empty, so a first
/// <c>./platform run</c> has data with no files and no network. Each symbol goes in as one import (one BarsImported).
/// </summary>
public sealed class DemoSeeder(IBarStore store, BarImporter importer, MarketDataOptions options, TimeProvider clock, ILogger<DemoSeeder> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Demo.Enabled != true || (await store.GetCoverageAsync(ct: stoppingToken)).Count > 0) return;
        var demo = options.Demo;
        var market = Generate(demo.Symbols, demo.Years, demo.Seed, clock.GetUtcNow());
        foreach (var series in market.GroupBy(b => b.Symbol))
        {
            var report = await importer.ImportBarsAsync("synthetic:" + series.Key, new ImportOptions(series.Key) { Interval = BarInterval.OneDay },
                series.Select(b => b.Bar).ToList(), stoppingToken);
            logger.LogInformation("Demo data: {Symbol} {Count} daily bars", series.Key, report.Inserted);
        }
    }

    /// <summary>Strength of the demo market's planted signal (see <see cref="SyntheticMarketOptions.VolumeSignal"/>).</summary>
    public const double Signal = SyntheticMarketOptions.DemoVolumeSignal;

    /// <summary>
    /// The demo universe: <paramref name="symbols"/> symbols of daily bars ending before <paramref name="now"/>, with a
    /// planted volume signal of strength <see cref="Signal"/> so a model has something real to learn and the promotion
    /// gate (beat every baseline on an untouched final period) can pass honestly.
    /// </summary>
    public static IReadOnlyList<SymbolBar> Generate(int symbols, int years, ulong seed, DateTimeOffset now)
    {
        var start = new DateTimeOffset(now.UtcDateTime.Date.AddYears(-years), TimeSpan.Zero);
        return SyntheticMarket.Generate(new SyntheticMarketOptions
        {
            Symbols = SyntheticMarketOptions.Universe(symbols),
            Start = start,
            Bars = years * 261,
            Seed = seed,
            VolumeSignal = Signal,
        }).Where(b => b.Bar.Time < now).ToList();
    }
}
