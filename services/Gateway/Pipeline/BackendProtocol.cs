using System.Net;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Platform.Gateway.Pipeline;

/// <summary>
/// <c>Gateway:BackendProtocol</c>: how the gateway talks to a service it reaches directly. <c>http1</c> (the default):
/// HTTP/1.1, which every service's own URLs accept. <c>h2c</c>: HTTP/2 over cleartext with prior knowledge, for
/// destinations that are the services' HTTP/2-only listeners (<c>Internal:H2cPort</c>; the embedded host points the gateway
/// at them): many requests share a connection and the hop costs less. A cluster routed through the Dapr sidecar
/// (<c>Metadata:DaprAppId</c>) and a cluster whose <c>HttpRequest:Version</c> is configured are left as they are.
/// </summary>
public sealed class BackendProtocolFilter(IConfiguration configuration) : IProxyConfigFilter
{
    public const string Key = "Gateway:BackendProtocol";

    private readonly bool _h2c = (configuration[Key] ?? "http1") switch
    {
        "h2c" => true,
        "http1" => false,
        var other => throw new InvalidOperationException($"{Key} is '{other}': use h2c or http1."),
    };

    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        if (!_h2c || cluster.HttpRequest?.Version is not null || cluster.Metadata?.ContainsKey(DaprInvocation.AppIdMetadata) == true)
            return ValueTask.FromResult(cluster);
        var request = (cluster.HttpRequest ?? new ForwarderRequestConfig()) with
        {
            Version = HttpVersion.Version20,
            // Cleartext HTTP/2 has no negotiation: the client must start with it (prior knowledge).
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        return ValueTask.FromResult(cluster with { HttpRequest = request });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) => ValueTask.FromResult(route);
}
