using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Backtesting.Engine.Statistics;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.State;

namespace Platform.Backtesting.Runs;

/// <summary>
/// Finished reports in the service's private state store, one document per run under
/// <c>backtest-report:{id}</c> (kept out of the workflow record, which is rewritten at every checkpoint).
/// </summary>
public sealed class BacktestReports(IStateStoreProvider stores)
{
    /// <summary>Web defaults, enums as strings, and NaN/∞ written as strings rather than failing the run.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Key(string id) => "backtest-report:" + id;

    public async Task SaveAsync(string id, BacktestReport report, CancellationToken ct)
    {
        var outcome = await stores.PrivateStore().SaveAsync(Key(id), JsonSerializer.SerializeToUtf8Bytes(report, Json), null, ct);
        if (outcome != StateOutcome.Ok) throw new StateStoreException($"Could not save the report of backtest '{id}': {outcome}.");
    }

    public async Task<BacktestReport?> GetAsync(string id, CancellationToken ct)
    {
        var item = await stores.PrivateStore().GetAsync(Key(id), ct);
        return item is null ? null : JsonSerializer.Deserialize<BacktestReport>(item.Value.Span, Json);
    }
}

/// <summary>Progress of the runs executing in this process (0..1), for status answers while they run.</summary>
public sealed class BacktestProgress
{
    private readonly ConcurrentDictionary<string, double> _progress = new();

    public IProgress<double> For(string id) => new Reporter(this, id);
    public double? Get(string id) => _progress.TryGetValue(id, out var p) ? p : null;
    public void Remove(string id) => _progress.TryRemove(id, out _);

    private sealed class Reporter(BacktestProgress owner, string id) : IProgress<double>
    {
        public void Report(double value) => owner._progress[id] = value;
    }
}
