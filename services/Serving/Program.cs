// serving: the registry's champions loaded in memory, predictions.
// - Consumes: `model-promoted` (swaps the served version); `market-features` with `Serving:Streaming:Enabled` (scores each
//   vector with the champions).
// - Reads: champions (modelstore), the latest feature vectors (featurestore).
// - Publishes: `predictions` (`PredictionMade`).
// - API: `/v1/predictions`, `/v1/serving`.

using Platform.Serving;

await ServingService.Module.RunAsync(args);
