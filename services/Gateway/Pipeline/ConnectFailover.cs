using System.Net.Sockets;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Platform.Gateway.Pipeline;

/// <summary>
/// When a cluster has several destinations (the replicas of a service outside Kubernetes; in Kubernetes the one
/// destination is the sidecar, whose own resiliency policy retries), a request whose connection to the chosen destination
/// is refused goes to another one. A refused connection means nothing reached the service, so even a POST is safe to
/// resend; a failure after the request was sent (a replica dying mid-request) is not retried and answers 502. Passive
/// health checks then keep the failed destination out of the rotation for a while.
/// </summary>
public static class ConnectFailover
{
    /// <summary>Largest body kept in memory to be resent (requests over the gateway's body limit never get here).</summary>
    private const int MaxBufferedBytes = 1024 * 1024;

    public static IReverseProxyApplicationBuilder UseConnectFailover(this IReverseProxyApplicationBuilder proxy)
    {
        // A single destination (every cluster in Kubernetes, and most elsewhere) goes straight on, with nothing allocated.
        proxy.Use(next => context => context.GetReverseProxyFeature().AvailableDestinations.Count < 2 ? next(context) : FailOverAsync(context, next));
        return proxy;
    }

    private static async Task FailOverAsync(HttpContext context, RequestDelegate next)
    {
        var feature = context.GetReverseProxyFeature();
        context.Request.EnableBuffering(MaxBufferedBytes);
        // Load balancing narrows AvailableDestinations to the one it picked: keep the full list to pick again from.
        var candidates = feature.AvailableDestinations;
        var tried = new HashSet<DestinationState>();
        while (true)
        {
            await next(context);
            if (context.GetForwarderErrorFeature() is not { } error || context.Response.HasStarted || !Refused(error)
                || feature.ProxiedDestination is not { } failed)
                return;
            tried.Add(failed);
            var others = candidates.Where(d => !tried.Contains(d)).ToList();
            if (others.Count == 0) return;
            feature.AvailableDestinations = others;
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Clear();
            context.Request.Body.Position = 0;
        }
    }

    private static bool Refused(IForwarderErrorFeature error)
    {
        if (error.Error is not (ForwarderError.Request or ForwarderError.RequestCreation)) return false;
        for (var ex = error.Exception; ex is not null; ex = ex.InnerException)
            if (ex is SocketException { SocketErrorCode: SocketError.ConnectionRefused }) return true;
        return false;
    }
}
