using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.Secrets;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>
/// The embedded state provider: every component lives in <c>state.db</c> of the data directory; keys are
/// prefixed by the component's keyPrefix rule, as Dapr's components are configured in components/.
/// </summary>
public sealed class EmbeddedStateStoreProvider(SqliteFile file, string appId, IReadOnlyDictionary<string, string> keyPrefixes) : IStateStoreProvider
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IStateStore> _stores = new(StringComparer.Ordinal);

    /// <summary>The keyPrefix rule of each component, as in components/*.yaml.</summary>
    public static readonly IReadOnlyDictionary<string, string> DefaultKeyPrefixes = new Dictionary<string, string>
    {
        [Components.StateStore] = "appid",
        [Components.FeatureStore] = "name",
        [Components.ModelStore] = "name",
    };

    public IStateStore Get(string componentName) => _stores.GetOrAdd(componentName, name =>
    {
        var rule = keyPrefixes.TryGetValue(name, out var r) ? r : "appid";
        var prefix = rule switch
        {
            "appid" => appId,
            "name" => name,
            "none" => "",
            _ => throw new InvalidOperationException($"Unknown keyPrefix rule '{rule}' for state component '{name}'."),
        };
        return new SqliteStateStore(file, name, prefix);
    });
}

public static class EmbeddedRuntimeExtensions
{
    public static string StateFile(string dataDir) => Path.Combine(dataDir, "state.db");
    public static string EventLogFile(string dataDir) => Path.Combine(dataDir, "pubsub.db");

    /// <summary>
    /// Registers the embedded adapters for one app: SQLite state and pub/sub in <paramref name="dataDir"/>,
    /// local secrets, and the subscriber that delivers this app's subscriptions. Both files use <paramref name="synchronous"/>.
    /// </summary>
    public static IServiceCollection AddEmbeddedRuntime(this IServiceCollection services, string appId, string dataDir,
        SqliteSynchronous synchronous = SqliteSynchronous.Normal)
    {
        services.GetOrAddSubscriptionRegistry();
        services.AddSingleton(_ => SqliteFile.Open(StateFile(dataDir), SqliteStateStore.Schema, synchronous));
        // The log is shared by every app of the process; the first to open it gives the logger its checkpoint failures go to.
        services.AddSingleton(sp => EventLog.For(EventLogFile(dataDir), synchronous, sp.GetRequiredService<ILogger<EventLog>>()));
        services.AddSingleton<IStateStoreProvider>(sp =>
            new EmbeddedStateStoreProvider(sp.GetRequiredService<SqliteFile>(), appId, EmbeddedStateStoreProvider.DefaultKeyPrefixes));
        services.AddSingleton<IEventPublisher>(sp =>
            new EmbeddedEventPublisher(sp.GetRequiredService<EventLog>(), appId, sp.GetRequiredService<PubSubOptions>()));
        services.AddSingleton<ISecretStore>(sp => new LocalSecretStore(sp.GetRequiredService<IConfiguration>(), dataDir));
        // Open the data files at start-up, so a corrupt or locked file fails the start with its name, not a later request.
        services.AddSingleton<IHostedService>(sp => new DataFileCheck(sp.GetRequiredService<SqliteFile>(), sp.GetRequiredService<EventLog>()));
        services.AddSingleton<IHostedService>(sp => new EmbeddedSubscriber(
            sp.GetRequiredService<EventLog>(), appId, sp.GetRequiredService<SubscriptionRegistry>(), sp,
            sp.GetRequiredService<PubSubOptions>(), sp.GetRequiredService<EmbeddedDeliveryOptions>(),
            sp.GetRequiredService<ILogger<EmbeddedSubscriber>>()));
        return services;
    }
}

/// <summary>Resolving its arguments opens the embedded data files; it exists so that happens when the app starts.</summary>
internal sealed class DataFileCheck(SqliteFile state, EventLog log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = state.Path;
        _ = log.File.Path;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
