using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.Features;

/// <summary>
/// features: indicators and feature sets computed as bars stream in.
/// <list type="bullet">
/// <item>Consumes: <c>market-bars</c> (<c>BarClosed</c> one bar at a time, <c>BarsImported</c> as a batch recompute).</item>
/// <item>Stores: the latest vector per set, symbol and interval (featurestore), the feature history (offline store, the
/// only writer), pipeline checkpoints (statestore).</item>
/// <item>Publishes: <c>market-features</c> (<c>FeaturesComputed</c>).</item>
/// <item>API: <c>/v1/feature-sets</c>, <c>/v1/features</c>.</item>
/// </list>
/// </summary>
public static class Program
{
    public static ServiceModule Module { get; } = new(AppTopology.Features, b => b.AddFeatures(), a => a.MapFeatures());

    public static Task Main(string[] args) => Module.RunAsync(args);
}
