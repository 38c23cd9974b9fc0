using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.Contracts;

namespace Platform.Gateway.Identity;

/// <summary>
/// The gateway's key store without starting the gateway (the <c>keys</c> CLI verb): the gateway's private state store
/// of a data directory (or the Dapr sidecar when <c>Runtime:Mode=dapr</c>), and the same pepper. A running gateway sees
/// keys created here at once and revocations made here within its cache TTL.
/// </summary>
public sealed class OfflineKeyStore : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private OfflineKeyStore(ServiceProvider services) => _services = services;

    public ApiKeyService Keys => _services.GetRequiredService<ApiKeyService>();

    public static OfflineKeyStore Open(string dataDir, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Runtime:Mode"] = "embedded" })
            .AddEnvironmentVariables()
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DataDir"] = dataDir })
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        services.AddBuildingBlocks(RuntimeSettings.From(configuration, AppTopology.Gateway.AppId), configuration);
        services.Configure<ApiKeyOptions>(configuration.GetSection("Gateway:ApiKeys"));
        services.AddSingleton<PepperProvider>();
        services.AddSingleton(Limits.RateLimitOptions.From(configuration));
        services.AddSingleton<ApiKeyService>();
        return new OfflineKeyStore(services.BuildServiceProvider());
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
