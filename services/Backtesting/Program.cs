// backtesting: strategies with realistic costs run as durable workflows on the backtest engine.
// - Reads: bars (offline store, read-only).
// - Stores: backtest runs and their reports, workflow checkpoints (statestore).
// - Publishes and consumes: nothing.
// - API: `/v1/backtests`.

using Platform.Backtesting;

await BacktestingService.Module.RunAsync(args);
