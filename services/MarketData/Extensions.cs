using Platform.Contracts;
using Platform.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.Secrets;
using Platform.MarketData.Apis;
using Platform.MarketData.Demo;
using Platform.MarketData.Files;
using Platform.MarketData.Import;
using Platform.MarketData.Outbox;
using Platform.MarketData.Providers;
using Platform.MarketData.Replay;
using Platform.MarketData.Testing;
using Platform.OfflineStore;

namespace Platform.MarketData;

/// <summary>Wires the marketdata service: its services, its subscriptions and its API.</summary>
public static class MarketDataService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.MarketData, b => b.AddMarketData(), a => a.MapMarketData());

    public static WebApplicationBuilder AddMarketData(this WebApplicationBuilder builder)
    {
        builder.Services.AddMarketDataCore(builder.Configuration);
        // Test-only: inert unless MarketData:Testing:HaltAt is set (the process-kill suite).
        builder.Services.AddKillPoints(builder.Configuration);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());
        builder.Services.AddHostedService<ReplayResumer>();
        builder.Services.AddHostedService<DemoSeeder>();
        return builder;
    }

    /// <summary>
    /// The service's parts without its hosted loops: the offline store (owner), importer, outbox relay, replay and
    /// providers. The CLI verbs use this directly.
    /// </summary>
    public static IServiceCollection AddMarketDataCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var options = new MarketDataOptions();
            configuration.GetSection("MarketData").Bind(options);
            options.Demo.Enabled ??= sp.GetRequiredService<RuntimeSettings>().Mode == RuntimeMode.Embedded;
            return options;
        });
        services.AddOfflineBarStore(configuration);
        services.TryAddSingleton<BarImporter>();
        services.TryAddSingleton<OutboxRelay>();
        services.TryAddSingleton<ReplayService>();
        services.TryAddSingleton<ServerFiles>();

        services.AddHttpClient(nameof(PolygonProvider));
        services.AddHttpClient(nameof(AlphaVantageProvider));
        services.AddSingleton<IBarProvider>(sp => new PolygonProvider(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(PolygonProvider)),
            ProviderOptions.From(configuration, "Polygon", PolygonProvider.DefaultBaseUrl, 5),
            sp.GetRequiredService<ISecretStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IBarProvider>(sp => new AlphaVantageProvider(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(AlphaVantageProvider)),
            ProviderOptions.From(configuration, "AlphaVantage", AlphaVantageProvider.DefaultBaseUrl, 5),
            sp.GetRequiredService<ISecretStore>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    public static WebApplication MapMarketData(this WebApplication app)
    {
        app.MapMarketDataApi();
        return app;
    }
}
