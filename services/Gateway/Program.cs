using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.Gateway;

/// <summary>
/// gateway: the only public entry. Authenticates (API key or JWT bearer), authorizes by scope, rate-limits per key,
/// forwards the caller as <c>X-Principal</c> and proxies (YARP) to every service's <c>/v1</c> API.
/// <list type="bullet">
/// <item>Stores: API key digests (statestore); reads the key pepper (secretstore) and the JWT settings (configuration).</item>
/// <item>Publishes and consumes: nothing.</item>
/// <item>API: <c>/v1/keys</c>, and every route of <c>gateway.routes.json</c>.</item>
/// </list>
/// </summary>
public static class Program
{
    public static ServiceModule Module { get; } = new(AppTopology.Gateway, b => b.AddGateway(), a => a.MapGateway());

    public static Task Main(string[] args) => Module.RunAsync(args);
}
