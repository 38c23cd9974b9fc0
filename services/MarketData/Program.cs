// marketdata: CSV importers, replay at a chosen speed, market-data providers.
// - Stores: the bar tables of the offline store (the only writer), import and replay records (statestore).
// - Publishes: `market-bars` — `BarClosed` per live or replayed bar, `BarsImported` per bulk import —
//   through an outbox written in the bars' transaction.
// - Consumes: nothing.
// - API: `/v1/market` (imports, replays, fetches, symbols, bars).

using Platform.MarketData;

await MarketDataService.Module.RunAsync(args);
