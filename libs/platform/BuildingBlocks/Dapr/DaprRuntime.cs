using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.Secrets;
using Platform.BuildingBlocks.State;

namespace Platform.BuildingBlocks.Dapr;

public static class DaprRuntimeExtensions
{
    /// <summary>
    /// Registers the Dapr adapters for one app on the official SDK: a <see cref="global::Dapr.Client.DaprClient"/> (gRPC)
    /// pointed at the sidecar, and on it state (<see cref="IStateStoreProvider"/>), publish (<see cref="IEventPublisher"/>),
    /// secrets (<see cref="ISecretStore"/>), and the start-up gate that waits for the sidecar and checks its components.
    /// Deliveries arrive through <see cref="MapDaprEndpoints"/>. The app id is the sidecar's (<c>dapr run --app-id</c>);
    /// the sidecar applies key prefixes and consumer groups.
    /// </summary>
    public static IServiceCollection AddDaprRuntime(this IServiceCollection services, string appId, IConfiguration configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appId);
        var options = DaprOptions.From(configuration);
        services.GetOrAddSubscriptionRegistry();
        services.TryAddSingleton(new PubSubOptions());
        services.AddSingleton(options);
        services.AddDaprClient(builder => builder
            .UseGrpcEndpoint(options.GrpcEndpoint.ToString())
            .UseHttpEndpoint(options.HttpEndpoint.ToString())
            .UseDaprApiToken(options.ApiToken ?? "")
            .UseTimeout(options.RequestTimeout)
            .UseJsonSerializationOptions(StateStoreExtensions.Json));
        services.AddSingleton<DaprCalls>();
        services.AddSingleton<IStateStoreProvider, DaprStateStoreProvider>();
        services.AddSingleton<IEventPublisher, DaprEventPublisher>();
        services.AddSingleton<ISecretStore, DaprSecretStore>();
        services.AddSingleton<IHostedService, DaprSidecarReadiness>();
        return services;
    }

    /// <summary>Serves /dapr/subscribe and the delivery routes (see <see cref="DaprAppEndpoints"/>).</summary>
    public static Microsoft.AspNetCore.Routing.IEndpointRouteBuilder MapDaprEndpoints(this Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints) =>
        DaprAppEndpoints.Map(endpoints);
}
