using Platform.Backtesting.Data;
using Platform.Backtesting.Engine.Data;
using Platform.OfflineStore;
using Platform.Quant;

namespace Platform.Backtesting.Data;

/// <summary>Stored bars from the offline store (read-only), as a backtest's bar source.</summary>
public sealed class OfflineStoreBarSource(IBarReader reader) : IBarSource
{
    public string Name => "offline-store";

    public async Task<bool> HasSymbolAsync(string symbol, BarInterval interval, CancellationToken ct = default)
    {
        var coverage = await reader.GetCoverageAsync(symbol, ct);
        return coverage.Any(c => c.Interval == interval && c.Count > 0);
    }

    public async Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
    {
        if (!await HasSymbolAsync(symbol, interval, ct)) return null;
        var bars = await reader.GetBarsAsync(new BarQuery(symbol, interval, from, to), ct);
        return [.. bars];
    }
}
