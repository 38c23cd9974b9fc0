using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.Serving;

/// <summary>
/// serving: the registry's champions loaded in memory, predictions.
/// <list type="bullet">
/// <item>Consumes: <c>model-promoted</c> (swaps the served version).</item>
/// <item>Reads: champions (modelstore), the latest feature vectors (featurestore).</item>
/// <item>Publishes: <c>predictions</c> (<c>PredictionMade</c>).</item>
/// <item>API: <c>/v1/predictions</c>, <c>/v1/serving</c>.</item>
/// </list>
/// </summary>
public static class Program
{
    public static ServiceModule Module { get; } = new(AppTopology.Serving, b => b.AddServing(), a => a.MapServing());

    public static Task Main(string[] args) => Module.RunAsync(args);
}
