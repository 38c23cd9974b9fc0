using System.Diagnostics.Metrics;

namespace Platform.Gateway.Pipeline;

/// <summary>The gateway's refusals, exported under the meter <c>Platform.Gateway</c> (Prometheus: <c>gateway_*_total</c>).</summary>
public static class GatewayMetrics
{
    public const string MeterName = "Platform.Gateway";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> RateLimited = Meter.CreateCounter<long>("gateway.ratelimit.rejections", "{request}",
        "Requests refused with 429 because the caller's bucket was empty, by tier.");

    private static readonly Counter<long> Unauthenticated = Meter.CreateCounter<long>("gateway.auth.failures", "{request}",
        "Requests refused with 401, by the credential presented (api-key, bearer, none).");

    private static readonly Counter<long> ClientLimited = Meter.CreateCounter<long>("gateway.client_limit.rejections", "{request}",
        "Requests refused with 429 before authentication because the client address or the presented key id spent its budget.");

    public static void ClientLimitRejected(string partition) => ClientLimited.Add(1, new KeyValuePair<string, object?>("partition", partition));

    public static void RateLimitRejected(string tier) => RateLimited.Add(1, new KeyValuePair<string, object?>("tier", tier));

    public static void AuthenticationFailed(string credential) => Unauthenticated.Add(1, new KeyValuePair<string, object?>("credential", credential));
}
