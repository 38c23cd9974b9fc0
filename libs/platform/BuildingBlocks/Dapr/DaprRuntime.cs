using System.Net;
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
    /// Registers the Dapr sidecar adapters for one app: state (<see cref="IStateStoreProvider"/>), publish
    /// (<see cref="IEventPublisher"/>), secrets (<see cref="ISecretStore"/>), and the start-up gate that waits for the
    /// sidecar and checks its components. Deliveries arrive through <see cref="MapDaprEndpoints"/>.
    /// The app id is the sidecar's (<c>dapr run --app-id</c>); the sidecar applies key prefixes and consumer groups.
    /// </summary>
    public static IServiceCollection AddDaprRuntime(this IServiceCollection services, string appId, IConfiguration configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appId);
        var options = DaprOptions.From(configuration);
        services.GetOrAddSubscriptionRegistry();
        services.TryAddSingleton(new PubSubOptions());
        services.AddSingleton(options);

        services.AddHttpClient(DaprSidecarClient.HttpClientName, client =>
            {
                client.BaseAddress = options.Endpoint;
                // Per-attempt timeouts are DaprSidecarClient's, so a timeout is told apart from the caller's cancellation.
                client.Timeout = Timeout.InfiniteTimeSpan;
                if (options.ApiToken is { } token) client.DefaultRequestHeaders.TryAddWithoutValidation(DaprAppEndpoints.TokenHeader, token);
            })
            // The sidecar is on loopback: no proxy, no DNS to refresh, so one long-lived handler.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();
        services.AddSingleton<DaprSidecarClient>();

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
