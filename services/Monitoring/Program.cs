// monitoring: the served models watched live.
// - Consumes: `predictions` (`PredictionMade`, stored; malformed or unknown-model events dead-lettered with the reason)
//   and `market-bars` (outcomes joined once a prediction's horizon has passed).
// - Stores: predictions and outcomes (the offline store's monitoring tables, the only writer).
// - Reads: registry entries (modelstore); bars of each version's training window (offline store) for its drift reference.
// - Publishes: `drift-detected` (`DriftDetected`, one per model and window).
// - API: `/v1/monitoring` (quality, drift, predictions with outcomes).

using Platform.Monitoring;

await MonitoringService.Module.RunAsync(args);
