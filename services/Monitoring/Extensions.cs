using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Modeling.Registry;
using Platform.Monitoring.Apis;
using Platform.Monitoring.Drift;
using Platform.Monitoring.Outcomes;
using Platform.Monitoring.Predictions;
using Platform.OfflineStore;
using Platform.OfflineStore.Monitoring;
using Platform.ServiceDefaults;

namespace Platform.Monitoring;

/// <summary>
/// Wires the monitoring service: it consumes <c>predictions</c> (stored, or dead-lettered with the reason) and
/// <c>market-bars</c> (joins outcomes once a horizon has passed, then evaluates drift and publishes
/// <c>drift-detected</c>), owns the monitoring tables of the offline store and serves <c>/v1/monitoring</c>.
/// </summary>
public static class MonitoringService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Monitoring, b => b.AddMonitoring(), a => a.MapMonitoring());

    public static WebApplicationBuilder AddMonitoring(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ =>
        {
            var options = new MonitoringOptions();
            configuration.GetSection("Monitoring").Bind(options);
            return options;
        });
        services.AddOfflineBarReader(configuration);
        services.TryAddSingleton(sp => OfflineStoreExtensions.CreatePredictionStore(configuration, sp.GetRequiredService<RuntimeSettings>().DataDir));
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, MonitoringStartup>());
        services.TryAddSingleton(sp => new ModelRegistry(sp.GetRequiredService<IStateStoreProvider>().Get(Components.ModelStore),
            sp.GetRequiredService<IEventPublisher>(), sp.GetService<TimeProvider>()));
        services.AddSingleton<MonitoringMetrics>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<PredictionIntake>();
        services.AddSingleton<DriftMonitor>();
        services.AddSingleton<IDriftEvaluator>(sp => sp.GetRequiredService<DriftMonitor>());
        services.AddSingleton<OutcomeJoiner>();
        services.AddRawEventHandler(Topics.Predictions, (sp, e, ct) => sp.GetRequiredService<PredictionIntake>().HandleAsync(e, ct));
        services.AddEventHandler<BarClosed>((sp, e, _, ct) =>
            sp.GetRequiredService<OutcomeJoiner>().JoinAsync(e.Symbol, e.Interval, e.Time, ct));
        services.AddEventHandler<BarsImported>((sp, e, _, ct) =>
            sp.GetRequiredService<OutcomeJoiner>().JoinAsync(e.Symbol, e.Interval, e.To, ct));
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals);
        return builder;
    }

    public static WebApplication MapMonitoring(this WebApplication app)
    {
        app.MapMonitoringApi();
        return app;
    }
}

/// <summary>Readies the service before it consumes anything: its configuration checked, the monitoring tables created or migrated.</summary>
internal sealed class MonitoringStartup(IPredictionStore store, MonitoringOptions options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        options.Validate();
        return store.InitializeAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
