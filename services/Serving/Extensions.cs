using Platform.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.Serving.Apis;
using Platform.Serving.Events;
using Platform.Serving.Features;
using Platform.Serving.Models;
using Platform.Serving.Streaming;

namespace Platform.Serving;

/// <summary>
/// Wires the serving service: the champions of the registry loaded at start, swapped on <see cref="ModelPromoted"/> and
/// reconciled with the registry on a short timer by every replica (<see cref="ModelReconciler"/>),
/// online features, the prediction API, and <see cref="PredictionMade"/> events; with <c>Serving:Streaming:Enabled</c>, the
/// champions also score every feature vector as it is computed (<see cref="StreamingPredictions"/>).
/// </summary>
public static class ServingService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Serving, b => b.AddServing(), a => a.MapServing());
    public const string ReplicaHeader = "X-Serving-Replica";

    public static WebApplicationBuilder AddServing(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IModelSource, RegistryModelSource>();
        services.AddSingleton<ModelHost>();
        var featureCache = OnlineFeatures.CacheSizeFrom(builder.Configuration);
        services.AddSingleton(sp => new OnlineFeatures(sp.GetRequiredService<Platform.BuildingBlocks.State.IStateStoreProvider>(), featureCache));
        services.AddSingleton<PredictionEvents>();
        services.AddHostedService<ModelLoader>();
        // A member the request types do not have is refused (400), not skipped unread: a misspelt field is not silently dropped.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow);
        var replica = new ServingReplicaOptions();
        builder.Configuration.GetSection("Serving").Bind(replica);
        services.AddSingleton(replica);
        services.AddSingleton<ModelReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<ModelReconciler>());
        services.AddEventHandler<ModelPromoted>((sp, e, _, ct) => sp.GetRequiredService<ModelHost>().RefreshAsync(e.Model, ct));
        var streaming = new StreamingOptions();
        builder.Configuration.GetSection("Serving:Streaming").Bind(streaming);
        services.AddSingleton(streaming);
        if (streaming.Enabled)
        {
            // Subscribed only when enabled: otherwise every feature vector would be delivered to serving for nothing.
            services.AddSingleton<StreamingPredictions>();
            services.AddRawEventHandler(Topics.MarketFeatures, (sp, e, ct) => sp.GetRequiredService<StreamingPredictions>().HandleAsync(e, ct));
        }
        return builder;
    }

    public static WebApplication MapServing(this WebApplication app)
    {
        var replica = app.Services.GetRequiredService<ServingReplicaOptions>();
        ModelReconciler.ObserveServedVersions(app.Services.GetRequiredService<ModelHost>(), replica);
        // Which replica answered: behind a load balancer (or Dapr's), the caller can tell the replicas apart.
        app.Use((context, next) =>
        {
            context.Response.Headers[ReplicaHeader] = replica.ReplicaId;
            return next(context);
        });
        app.MapPredictionsApi();
        return app;
    }
}
