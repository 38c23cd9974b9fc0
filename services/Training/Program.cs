using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.Training;

/// <summary>
/// training: datasets, walk-forward validation and durable training runs; owns the model registry.
/// <list type="bullet">
/// <item>Reads: bars and feature history (offline store, read-only).</item>
/// <item>Stores: registry entries and artifacts (modelstore), workflow checkpoints (statestore).</item>
/// <item>Publishes: <c>model-registered</c>, <c>model-promoted</c>.</item>
/// <item>API: <c>/v1/training-runs</c>, <c>/v1/models</c> (versions, promotion, rollback).</item>
/// </list>
/// </summary>
public static class Program
{
    public static ServiceModule Module { get; } = new(AppTopology.Training, b => b.AddTraining(), a => a.MapTraining());

    public static Task Main(string[] args) => Module.RunAsync(args);
}
