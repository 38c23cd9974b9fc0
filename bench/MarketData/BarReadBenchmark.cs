using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;

namespace Platform.Bench.MarketData;

/// <summary>
/// What <c>GET /v1/market/{symbol}/bars</c> asks the SQLite store (the symbol's coverage, then a page of 1,001 bars)
/// with 2,000,000 bars stored, against the same read with the coverage statement the store used before it kept a
/// per-series summary (<c>WHERE $symbol IS NULL OR symbol = $symbol</c> over <c>bars</c>), on the same file in the same run.
/// </summary>
public sealed class BarReadBenchmark : IBenchmark
{
    private const string FormerCoverage = """
        SELECT symbol, interval, min(time), max(time), count(*) FROM bars
        WHERE $symbol IS NULL OR symbol = $symbol GROUP BY symbol, interval
        """;

    public string Name => "bar-read";
    public string Description => "A bar page read (coverage + 1,001 bars) with 2,000,000 daily bars stored in SQLite, against the former coverage statement (ms per read).";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var symbols = context.Quick ? 20 : 200;
        const int perSymbol = 10_000;
        var store = SqliteBarStore.InDataDir(context.WorkDir);
        await store.InitializeAsync(ct);
        var t0 = new DateTimeOffset(1990, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var fill = Stopwatch.StartNew();
        for (var s = 0; s < symbols; s++)
        {
            var symbol = $"S{s:D3}";
            var bars = Enumerable.Range(0, perSymbol)
                .Select(i => new SymbolBar(symbol, BarInterval.OneDay, new Bar(t0.AddDays(i), 100, 101, 99, 100.5, 1000)))
                .ToList();
            await store.WriteAsync(new BarWrite(bars), ct);
        }
        context.Line($"stored {symbols * perSymbol:N0} bars ({symbols} symbols x {perSymbol:N0}) in {fill.Elapsed.TotalSeconds:F1} s");

        var rng = new Random(3);
        string Pick() => $"S{rng.Next(symbols):D3}";
        var reads = context.Quick ? 100 : 200;

        var now = new LatencyRecorder();
        for (var i = 0; i < reads + 10; i++)
        {
            var symbol = Pick();
            var start = Stopwatch.GetTimestamp();
            var coverage = await store.GetCoverageAsync(symbol, ct);
            var page = await store.GetBarsAsync(new BarQuery(symbol, BarInterval.OneDay, Limit: 1001), ct);
            if (i >= 10) now.AddTicks(Stopwatch.GetTimestamp() - start);
            if (coverage.Count != 1 || page.Count != 1001) throw new InvalidOperationException("unexpected read");
        }

        var before = new LatencyRecorder();
        using (var connection = new SqliteConnection($"Data Source={store.Path};Mode=ReadOnly"))
        {
            connection.Open();
            for (var i = 0; i < Math.Min(reads, 30) + 2; i++)
            {
                var symbol = Pick();
                var start = Stopwatch.GetTimestamp();
                using (var cmd = connection.CreateCommand())
                {
                    cmd.CommandText = FormerCoverage;
                    cmd.Parameters.AddWithValue("$symbol", symbol);
                    using var reader = cmd.ExecuteReader();
                    while (reader.Read()) { }
                }
                var page = await store.GetBarsAsync(new BarQuery(symbol, BarInterval.OneDay, Limit: 1001), ct);
                if (i >= 2) before.AddTicks(Stopwatch.GetTimestamp() - start);
                if (page.Count != 1001) throw new InvalidOperationException("unexpected read");
            }
        }
        context.Line($"now:    {now.Summary("ms")}");
        context.Line($"before: {before.Summary("ms")}");
        var ratio = before.Percentile(50) / now.Percentile(50);
        return $"{Name}: p50 {now.Percentile(50) / 1000:F3} ms per read with {symbols * perSymbol:N0} bars ({ratio:F0}x faster than the former coverage statement at {before.Percentile(50) / 1000:F1} ms)";
    }
}
