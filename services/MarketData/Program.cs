using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.MarketData;

/// <summary>
/// marketdata: CSV importers, replay at a chosen speed, market-data providers.
/// <list type="bullet">
/// <item>Stores: the bar tables of the offline store (the only writer), import and replay records (statestore).</item>
/// <item>Publishes: <c>market-bars</c> — <c>BarClosed</c> per live or replayed bar, <c>BarsImported</c> per bulk import —
/// through an outbox written in the bars' transaction.</item>
/// <item>Consumes: nothing.</item>
/// <item>API: <c>/v1/market</c> (imports, replays, fetches, symbols, bars).</item>
/// </list>
/// </summary>
public static class Program
{
    public static ServiceModule Module { get; } = new(AppTopology.MarketData, b => b.AddMarketData(), a => a.MapMarketData());

    public static Task Main(string[] args) => Module.RunAsync(args);
}
