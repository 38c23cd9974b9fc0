using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.Contracts;
using Platform.MarketData;
using Platform.MarketData.Outbox;
using Platform.OfflineStore;

namespace Platform.Host.Commands;

/// <summary>
/// The marketdata parts for a CLI verb, without starting the platform: the offline store of the data directory (or
/// <c>ConnectionStrings__Offline</c>), the importer and replay, and the outbox relay that the verb drains into the
/// embedded bus of the same data directory (a running platform would also relay it).
/// </summary>
internal sealed class MarketDataCli : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private MarketDataCli(ServiceProvider services) => _services = services;

    public static async Task<MarketDataCli> OpenAsync(string dataDir, CancellationToken ct)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Runtime:Mode"] = "embedded", ["DataDir"] = dataDir })
            .AddEnvironmentVariables()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DataDir"] = dataDir })
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        services.AddBuildingBlocks(RuntimeSettings.From(configuration, AppTopology.MarketData.AppId), configuration);
        services.AddMarketDataCore(configuration);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IBarStore>().InitializeAsync(ct);
        return new MarketDataCli(provider);
    }

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Publishes what the verb wrote to the outbox; returns how many events.</summary>
    public Task<int> DrainOutboxAsync(CancellationToken ct) => Get<OutboxRelay>().DrainAsync(ct);

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
