using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Platform.Gateway.Identity;
using Platform.Gateway.Pipeline;

namespace Platform.Gateway.Limits;

/// <summary>
/// <c>Gateway:ClientLimits</c>: how many requests that end unauthenticated (no credential, a wrong key or token, or an
/// anonymous route) a client address, and a presented key id, may make. Both are token buckets.
/// </summary>
public sealed class ClientLimitOptions
{
    /// <summary>Per client address (an IPv6 client by its /64).</summary>
    public TierLimit PerAddress { get; set; } = new() { Capacity = 120, TokensPerPeriod = 20, Period = TimeSpan.FromSeconds(1) };

    /// <summary>Per key id presented in <c>X-Api-Key</c> with a secret that did not verify.</summary>
    public TierLimit PerKeyId { get; set; } = new() { Capacity = 20, TokensPerPeriod = 2, Period = TimeSpan.FromSeconds(1) };
}

/// <summary>
/// The limiter in front of authentication. Each request first asks whether its client address (and the key id it presents,
/// if any) still has budget; when either is spent the request is refused with 429 before any credential is looked at.
/// Only requests that end unauthenticated spend budget, so an authenticated caller is bounded by its tier alone and a
/// flood of missing or wrong credentials from one address, or aimed at one key id, is cut off cheaply. Built on
/// System.Threading.RateLimiting's partitioned token buckets (partitions are dropped once idle and full again).
/// </summary>
public sealed class ClientLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _perAddress;
    private readonly PartitionedRateLimiter<string> _perKeyId;

    public ClientLimiter(ClientLimitOptions options)
    {
        Options = options;
        _perAddress = Partitioned(options.PerAddress);
        _perKeyId = Partitioned(options.PerKeyId);
    }

    public ClientLimitOptions Options { get; }

    private static PartitionedRateLimiter<string> Partitioned(TierLimit limit)
    {
        if (limit.Capacity < 1 || limit.TokensPerPeriod < 1 || limit.Period <= TimeSpan.Zero)
            throw new InvalidOperationException("Gateway:ClientLimits: Capacity and TokensPerPeriod must be at least 1 and Period positive.");
        // What RateLimitPartition.GetTokenBucketLimiter builds, without the two delegates it allocates on every call (the
        // partitioner runs on every request): the partitioned limiter's own timer refills its buckets, so theirs is off.
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit.Capacity,
            TokensPerPeriod = limit.TokensPerPeriod,
            ReplenishmentPeriod = limit.Period,
            QueueLimit = 0,
            AutoReplenishment = false,
        };
        Func<string, RateLimiter> create = _ => new TokenBucketRateLimiter(bucket);
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.Get(key, create), StringComparer.Ordinal);
    }

    /// <summary>Null when both have at least one request's budget left; otherwise which one is spent and when to retry.</summary>
    public (string Partition, TimeSpan RetryAfter)? Check(string address, string? keyId)
    {
        // Statistics read the bucket without taking from it (whole tokens: a bucket refilled to 0.3 is still empty).
        if (_perAddress.GetStatistics(address)?.CurrentAvailablePermits < 1) return ("address", OneToken(Options.PerAddress));
        if (keyId is not null && _perKeyId.GetStatistics(keyId)?.CurrentAvailablePermits < 1) return ("key-id", OneToken(Options.PerKeyId));
        return null;
    }

    /// <summary>The longest wait for one token to come back.</summary>
    private static TimeSpan OneToken(TierLimit limit) => limit.Period / limit.TokensPerPeriod;

    /// <summary>Spends one unit of the address's budget (and the key id's, when one was presented).</summary>
    public void Spend(string address, string? keyId)
    {
        _perAddress.AttemptAcquire(address, 1).Dispose();
        if (keyId is not null) _perKeyId.AttemptAcquire(keyId, 1).Dispose();
    }

    /// <summary>The partition of a client address: IPv4 as it is, IPv6 by its /64 (one subscriber's usual allocation).</summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    public void Dispose()
    {
        _perAddress.Dispose();
        _perKeyId.Dispose();
    }
}

public static class ClientLimitMiddleware
{
    /// <summary>
    /// Runs before authentication: refuses a request whose address or key id has spent its budget with 429 problem
    /// details and <c>Retry-After</c>. The management port (when <c>Management:Port</c> is set) is not limited: only the
    /// scraper reaches it.
    /// </summary>
    public static IApplicationBuilder UseClientLimits(this IApplicationBuilder app, int? managementPort)
    {
        var limiter = app.ApplicationServices.GetRequiredService<ClientLimiter>();
        return app.Use((context, next) => Refuse(context, next, limiter, managementPort));
    }

    private static Task Refuse(HttpContext context, RequestDelegate next, ClientLimiter limiter, int? managementPort)
    {
        if (managementPort is int port && context.Connection.LocalPort == port) return next(context);
        if (limiter.Check(ClientLimiter.AddressKey(context.Connection.RemoteIpAddress), PresentedKeyId(context.Request)) is not { } refused)
            return next(context);
        var seconds = Math.Max(1, (long)Math.Ceiling(refused.RetryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        GatewayMetrics.ClientLimitRejected(refused.Partition);
        var detail = refused.Partition == "address"
            ? $"Too many unauthenticated requests from this address. Retry after {seconds} s."
            : $"Too many requests with a wrong secret for this key id. Retry after {seconds} s.";
        return GatewayProblems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", detail);
    }

    /// <summary>Runs right after authentication: a request that is not authenticated spends budget before it is answered.</summary>
    public static IApplicationBuilder UseClientLimitSpending(this IApplicationBuilder app, int? managementPort)
    {
        var limiter = app.ApplicationServices.GetRequiredService<ClientLimiter>();
        return app.Use((context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated != true) SpendUnauthenticated(context, limiter, managementPort);
            return next(context);
        });
    }

    /// <summary>Spends a request's unit of its address's (and presented key id's) budget, unless it came in on the management port.</summary>
    internal static void SpendUnauthenticated(HttpContext context, ClientLimiter limiter, int? managementPort)
    {
        if (managementPort is int port && context.Connection.LocalPort == port) return;
        limiter.Spend(ClientLimiter.AddressKey(context.Connection.RemoteIpAddress), PresentedKeyId(context.Request));
    }

    private static string? PresentedKeyId(HttpRequest request) =>
        request.Headers.TryGetValue(GatewaySchemes.ApiKeyHeader, out var presented) && presented.Count == 1
        && ApiKeyToken.TryParse(presented[0], out var id, out _) ? id : null;
}
