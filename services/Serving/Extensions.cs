using Platform.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Serving.Apis;
using Platform.Serving.Events;
using Platform.Serving.Features;
using Platform.Serving.Models;

namespace Platform.Serving;

/// <summary>
/// Wires the serving service: the champions of the registry loaded at start and swapped on <see cref="ModelPromoted"/>,
/// online features, the prediction API, and <see cref="PredictionMade"/> events.
/// </summary>
public static class ServingService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Serving, b => b.AddServing(), a => a.MapServing());

    public static WebApplicationBuilder AddServing(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IModelSource, RegistryModelSource>();
        services.AddSingleton<ModelHost>();
        services.AddSingleton<OnlineFeatures>();
        services.AddSingleton<PredictionEvents>();
        services.AddHostedService<ModelLoader>();
        services.AddEventHandler<ModelPromoted>((sp, e, _, ct) => sp.GetRequiredService<ModelHost>().RefreshAsync(e.Model, ct));
        return builder;
    }

    public static WebApplication MapServing(this WebApplication app)
    {
        app.MapPredictionsApi();
        return app;
    }
}
