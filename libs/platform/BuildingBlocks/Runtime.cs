using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.BuildingBlocks;

public enum RuntimeMode { Embedded, Dapr }

/// <summary>
/// Which adapters an app uses, its embedded data directory, and how the embedded SQLite files wait for the disk
/// (<see cref="SqliteSynchronous"/>; <c>Normal</c> unless configured).
/// </summary>
public sealed record RuntimeSettings(string AppId, RuntimeMode Mode, string DataDir, SqliteSynchronous Synchronous = SqliteSynchronous.Normal)
{
    public const string DefaultDataDir = ".data";

    /// <summary>
    /// Reads <c>Runtime:Mode</c> (<c>embedded</c> or <c>dapr</c>); without it, Dapr is chosen when a sidecar is
    /// configured (a <c>DAPR_GRPC_*</c> or <c>DAPR_HTTP_*</c> port or endpoint),
    /// embedded otherwise. <c>DataDir</c> sets the
    /// embedded data directory, <c>Runtime:Synchronous</c> (<c>normal</c> or <c>full</c>) its files' synchronous setting.
    /// </summary>
    public static RuntimeSettings From(IConfiguration configuration, string appId)
    {
        var configured = configuration["Runtime:Mode"];
        var mode = configured switch
        {
            null or "" => DaprOptions.SidecarConfigured(configuration)
                ? RuntimeMode.Dapr
                : RuntimeMode.Embedded,
            _ when configured.Equals("embedded", StringComparison.OrdinalIgnoreCase) => RuntimeMode.Embedded,
            _ when configured.Equals("dapr", StringComparison.OrdinalIgnoreCase) => RuntimeMode.Dapr,
            _ => throw new InvalidOperationException($"Runtime:Mode must be 'embedded' or 'dapr', not '{configured}'."),
        };
        var dataDir = Path.GetFullPath(configuration["DataDir"] is { Length: > 0 } d ? d : DefaultDataDir);
        var synchronous = configuration["Runtime:Synchronous"] switch
        {
            null or "" => SqliteSynchronous.Normal,
            var s when s.Equals("normal", StringComparison.OrdinalIgnoreCase) => SqliteSynchronous.Normal,
            var s when s.Equals("full", StringComparison.OrdinalIgnoreCase) => SqliteSynchronous.Full,
            var s => throw new InvalidOperationException($"Runtime:Synchronous must be 'normal' or 'full', not '{s}'."),
        };
        return new RuntimeSettings(appId, mode, dataDir, synchronous);
    }
}

public static class RuntimeServiceCollectionExtensions
{
    /// <summary>Registers the four ports (state, pub/sub, secrets; workflows build on them) with the adapter chosen by <paramref name="settings"/>.</summary>
    public static IServiceCollection AddBuildingBlocks(this IServiceCollection services, RuntimeSettings settings, IConfiguration configuration)
    {
        services.AddSingleton(settings);
        services.TryAddSingleton(_ =>
        {
            var options = new PubSubOptions();
            configuration.GetSection("PubSub").Bind(options);
            foreach (var topic in PubSubOptions.PlatformTopics()) options.AllowedTopics.Add(topic);
            return options;
        });
        services.TryAddSingleton(_ =>
        {
            var options = new EmbeddedDeliveryOptions();
            configuration.GetSection("PubSub:Embedded").Bind(options);
            return options;
        });
        if (settings.Mode == RuntimeMode.Dapr)
            services.AddDaprRuntime(settings.AppId, configuration);
        else
            services.AddEmbeddedRuntime(settings.AppId, settings.DataDir, settings.Synchronous);
        return services;
    }

    /// <summary>The app's private state store (<c>statestore</c>, keys prefixed by app id).</summary>
    public static IStateStore PrivateStore(this IStateStoreProvider provider) => provider.Get(Components.StateStore);
}
