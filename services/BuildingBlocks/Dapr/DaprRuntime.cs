using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.BuildingBlocks.Dapr;

public static class DaprRuntimeExtensions
{
    /// <summary>Registers the Dapr sidecar adapters for one app.</summary>
    public static IServiceCollection AddDaprRuntime(this IServiceCollection services, string appId, IConfiguration configuration) =>
        throw new NotSupportedException("The Dapr runtime adapter is not available in this build; run with Runtime:Mode=embedded.");

    /// <summary>Serves /dapr/subscribe and the delivery routes.</summary>
    public static IEndpointRouteBuilder MapDaprEndpoints(this IEndpointRouteBuilder endpoints) => endpoints;
}
