// features: indicators and feature sets computed as bars stream in.
// - Consumes: `market-bars` (`BarClosed` in delivered batches, `BarsImported` as a batch recompute).
// - Stores: the latest vector per set, symbol and interval (featurestore), the feature history (offline store, the
//   only writer), pipeline checkpoints (statestore).
// - Publishes: `market-features` (`FeaturesComputed`).
// - API: `/v1/feature-sets`, `/v1/features`.

using Platform.Features;

await FeaturesService.Module.RunAsync(args);
