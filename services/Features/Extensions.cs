using Platform.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Features.Apis;
using Platform.Features.History;
using Platform.Features.Pipeline;
using Platform.Features.Sets;
using Platform.Features.Testing;
using Platform.OfflineStore;

namespace Platform.Features;

/// <summary>Wires the features service: its services, its subscriptions and its API.</summary>
public static class FeaturesService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Features, b => b.AddFeatures(), a => a.MapFeatures());

    public static WebApplicationBuilder AddFeatures(this WebApplicationBuilder builder)
    {
        builder.Services.AddFeaturesCore(builder.Configuration);
        builder.Services.AddBatchEventHandler<BarClosed>((sp, batch, ct) =>
            sp.GetRequiredService<FeaturePipeline>().OnBarsClosedAsync(batch.Select(d => d.Event).ToList(), ct));
        builder.Services.AddEventHandler<BarsImported>((sp, e, ce, ct) => sp.GetRequiredService<FeaturePipeline>().OnBarsImportedAsync(e, ce.Id, ct));
        return builder;
    }

    /// <summary>
    /// The service's parts without subscriptions: configured feature sets (<c>Features:Sets</c>, an array or a
    /// comma-separated list; default alpha158@1 and indicators@1), the bar reader, the feature history (owner), the online
    /// store and the pipeline. The feature sets are checked when the app starts.
    /// </summary>
    public static IServiceCollection AddFeaturesCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FeaturesOptions>().Configure(options =>
        {
            var section = configuration.GetSection(FeaturesOptions.Section);
            section.Bind(options);
            if (section["Sets"] is { Length: > 0 } list)
                options.Sets = [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        });
        services.TryAddSingleton(sp => new FeatureSetCatalog(sp.GetRequiredService<IOptions<FeaturesOptions>>()));
        services.AddOfflineBarReader(configuration);
        services.TryAddSingleton(sp => FeatureHistoryStores.CreateStore(configuration, sp.GetRequiredService<RuntimeSettings>().DataDir));
        services.TryAddSingleton<IFeatureHistoryReader>(sp => sp.GetRequiredService<IFeatureHistory>());
        services.TryAddSingleton<OnlineFeatureStore>();
        services.TryAddSingleton<FeatureMetrics>();
        services.TryAddSingleton(KillPoints.From(configuration));
        services.TryAddSingleton<FeaturePipeline>();
        // Before the subscriber: the schema exists and the configured sets are valid when the first bar arrives.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, FeaturesInitializer>());
        return services;
    }

    public static WebApplication MapFeatures(this WebApplication app)
    {
        app.MapFeaturesApi();
        return app;
    }
}

/// <summary>Creates the feature history's schema and resolves the configured feature sets at start-up.</summary>
internal sealed class FeaturesInitializer(IFeatureHistory history, FeatureSetCatalog catalog, ILogger<FeaturesInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await history.InitializeAsync(cancellationToken);
        logger.LogInformation("Computing feature sets {Sets}", string.Join(", ", catalog.Computed.Select(s => s.ToString())));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
