// training: datasets, walk-forward validation and durable training runs; owns the model registry.
// - Reads: bars and feature history (offline store, read-only).
// - Stores: registry entries and artifacts (modelstore), workflow checkpoints (statestore).
// - Publishes: `model-registered`, `model-promoted`.
// - API: `/v1/training-runs`, `/v1/models` (versions, promotion, rollback).

using Platform.Training;

await TrainingService.Module.RunAsync(args);
