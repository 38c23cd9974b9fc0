using System.Globalization;
using System.Threading.RateLimiting;
using Platform.Gateway.Identity;
using Platform.Gateway.Pipeline;

namespace Platform.Gateway.Limits;

/// <summary>A tier's token bucket: <see cref="Capacity"/> requests at once, refilled by <see cref="TokensPerPeriod"/> every <see cref="Period"/>.</summary>
public sealed class TierLimit
{
    public int Capacity { get; set; } = 60;
    public int TokensPerPeriod { get; set; } = 1;
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(1);

    public double RefillPerSecond => TokensPerPeriod / Period.TotalSeconds;
}

/// <summary><c>Gateway:RateLimits</c>: the tiers, and the one used for a tier nobody configured.</summary>
public sealed class RateLimitOptions
{
    public Dictionary<string, TierLimit> Tiers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    public string FallbackTier { get; set; } = "free";

    public static Dictionary<string, TierLimit> Defaults() => new(StringComparer.OrdinalIgnoreCase)
    {
        ["free"] = new TierLimit { Capacity = 30, TokensPerPeriod = 1, Period = TimeSpan.FromSeconds(1) },
        ["standard"] = new TierLimit { Capacity = 300, TokensPerPeriod = 50, Period = TimeSpan.FromSeconds(1) },
        ["premium"] = new TierLimit { Capacity = 3000, TokensPerPeriod = 500, Period = TimeSpan.FromSeconds(1) },
    };

    public TierLimit For(string? tier) =>
        tier is not null && Tiers.TryGetValue(tier, out var limit) ? limit
        : Tiers.TryGetValue(FallbackTier, out var fallback) ? fallback
        : throw new InvalidOperationException($"Rate-limit tier '{tier}' is not configured, nor the fallback tier '{FallbackTier}'.");
}

/// <summary>
/// Per-caller token buckets (System.Threading.RateLimiting), partitioned by key id or token subject, each with its
/// tier's limits. Per replica: N gateway replicas admit up to N times a tier's rate for a caller whose requests are
/// spread over all of them (see docs/gateway.md).
/// </summary>
public sealed class TierRateLimiter : IDisposable
{
    private readonly RateLimitOptions _options;
    private readonly PartitionedRateLimiter<string> _limiter;

    public TierRateLimiter(RateLimitOptions options)
    {
        _options = options;
        _limiter = PartitionedRateLimiter.Create<string, string>(partition =>
        {
            var limit = options.For(partition[..partition.IndexOf('|')]);
            return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = limit.Capacity,
                TokensPerPeriod = limit.TokensPerPeriod,
                ReplenishmentPeriod = limit.Period,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
    }

    public readonly record struct Decision(bool Admitted, TierLimit Limit, long Remaining, TimeSpan RetryAfter);

    public Decision Acquire(string tier, string callerId)
    {
        var limit = _options.For(tier);
        var partition = (_options.Tiers.ContainsKey(tier) ? tier : _options.FallbackTier) + "|" + callerId;
        using var lease = _limiter.AttemptAcquire(partition);
        var remaining = _limiter.GetStatistics(partition)?.CurrentAvailablePermits ?? 0;
        if (lease.IsAcquired) return new Decision(true, limit, remaining, TimeSpan.Zero);
        var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : limit.Period;
        return new Decision(false, limit, 0, retry);
    }

    public void Dispose() => _limiter.Dispose();
}

public static class RateLimitMiddleware
{
    /// <summary>
    /// Limits authenticated callers (anonymous routes, health and OpenAPI, are not limited per key). Every answer carries
    /// <c>RateLimit-Limit</c> (the bucket's capacity), <c>RateLimit-Remaining</c> and <c>RateLimit-Reset</c> (seconds until
    /// the bucket is full again); a refusal is 429 problem details with <c>Retry-After</c> (seconds until a token is back).
    /// </summary>
    public static IApplicationBuilder UseTierRateLimits(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated != true || GatewayClaims.IdOf(user) is not { } id) return next(context);
        var limiter = context.RequestServices.GetRequiredService<TierRateLimiter>();
        var decision = limiter.Acquire(GatewayClaims.TierOf(user) ?? "", GatewayClaims.KindOf(user) + ":" + id);
        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = decision.Limit.Capacity.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        var toFull = (decision.Limit.Capacity - decision.Remaining) / decision.Limit.RefillPerSecond;
        headers["RateLimit-Reset"] = ((long)Math.Ceiling(toFull)).ToString(CultureInfo.InvariantCulture);
        if (decision.Admitted) return next(context);
        var seconds = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalSeconds));
        headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return GatewayProblems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests",
            $"Rate limit of the '{GatewayClaims.TierOf(user)}' tier exceeded ({decision.Limit.Capacity} burst, {decision.Limit.RefillPerSecond:0.###}/s). Retry after {seconds} s.");
    });
}
