using System.Globalization;
using System.Collections.Concurrent;
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

    /// <summary>The defaults with <c>Gateway:RateLimits</c> applied over them.</summary>
    public static RateLimitOptions From(IConfiguration configuration)
    {
        var options = new RateLimitOptions { Tiers = Defaults() };
        configuration.GetSection("Gateway:RateLimits").Bind(options);
        return options;
    }

    public bool IsKnown(string tier) => Tiers.ContainsKey(tier);

    public TierLimit For(string? tier) =>
        tier is not null && Tiers.TryGetValue(tier, out var limit) ? limit
        : Tiers.TryGetValue(FallbackTier, out var fallback) ? fallback
        : throw new InvalidOperationException($"Rate-limit tier '{tier}' is not configured, nor the fallback tier '{FallbackTier}'.");
}

/// <summary>
/// Per-caller token buckets, partitioned by key id or token subject, each with its tier's limits. A bucket is refilled
/// lazily from the elapsed time when it is used (tokens = min(capacity, tokens + rate x elapsed)), so what a caller is
/// admitted over T is exactly capacity + rate x T. (System.Threading.RateLimiting's partitioned token bucket was tried
/// first: its partitions are refilled by a 100 ms heartbeat that only adds a period's tokens when a whole period has
/// passed since the last refill, and it admitted 43-72 % of the promised rate in the accuracy benchmark.)
/// Per replica: N gateway replicas admit up to N times a tier's rate for a caller whose requests are spread over all
/// of them (see docs/gateway.md). Buckets idle long enough to be full again are dropped.
/// </summary>
public sealed class TierRateLimiter(RateLimitOptions options, TimeProvider? clock = null) : IDisposable
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<(string Tier, string Caller), Bucket> _buckets = new();
    private long _acquisitions;

    public readonly record struct Decision(bool Admitted, TierLimit Limit, long Remaining, TimeSpan RetryAfter);

    private sealed class Bucket(TierLimit limit, long now)
    {
        public readonly TierLimit Limit = limit;
        public double Tokens = limit.Capacity;
        public long Updated = now;
    }

    public int Buckets => _buckets.Count;

    public Decision Acquire(string tier, string callerId)
    {
        var now = _clock.GetTimestamp();
        // Keyed by the pair, so no key is built per request; the tier's limit is looked up when the bucket is created.
        if (!_buckets.TryGetValue((tier, callerId), out var bucket))
            bucket = _buckets.GetOrAdd((tier, callerId), static (key, state) => new Bucket(state.options.For(key.Tier), state.now), (options, now));
        var limit = bucket.Limit;
        Decision decision;
        lock (bucket)
        {
            Refill(bucket, now);
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                decision = new Decision(true, limit, (long)Math.Floor(bucket.Tokens), TimeSpan.Zero);
            }
            else
            {
                var wait = (1 - bucket.Tokens) / limit.RefillPerSecond;
                decision = new Decision(false, limit, 0, TimeSpan.FromSeconds(wait));
            }
        }
        if (Interlocked.Increment(ref _acquisitions) % 4096 == 0) Sweep(now);
        return decision;
    }

    private void Refill(Bucket bucket, long now)
    {
        // A caller that read the clock before another one took the lock must not move the bucket's time backwards.
        if (now <= bucket.Updated) return;
        var elapsed = (now - bucket.Updated) / (double)_clock.TimestampFrequency;
        bucket.Tokens = Math.Min(bucket.Limit.Capacity, bucket.Tokens + elapsed * bucket.Limit.RefillPerSecond);
        bucket.Updated = now;
    }

    /// <summary>Drops buckets that would be full by now: recreating one later gives the same answer.</summary>
    private void Sweep(long now)
    {
        foreach (var (key, bucket) in _buckets)
        {
            bool full;
            lock (bucket)
            {
                var elapsed = (now - bucket.Updated) / (double)_clock.TimestampFrequency;
                full = bucket.Tokens + elapsed * bucket.Limit.RefillPerSecond >= bucket.Limit.Capacity;
            }
            if (full) _buckets.TryRemove(key, out _);
        }
    }

    public void Dispose() => _buckets.Clear();
}

public static class RateLimitMiddleware
{
    /// <summary>
    /// Limits authenticated callers (anonymous routes, health and OpenAPI, are not limited per key). Every answer carries
    /// <c>RateLimit-Limit</c> (the bucket's capacity), <c>RateLimit-Remaining</c> and <c>RateLimit-Reset</c> (seconds until
    /// the bucket is full again); a refusal is 429 problem details with <c>Retry-After</c> (seconds until a token is back).
    /// </summary>
    public static IApplicationBuilder UseTierRateLimits(this IApplicationBuilder app)
    {
        var limiter = app.ApplicationServices.GetRequiredService<TierRateLimiter>();
        return app.Use((context, next) => Limit(context, GatewayCaller.Of(context.User), next, limiter));
    }

    /// <summary>Takes a token from <paramref name="caller"/>'s bucket and goes on, or answers 429; no caller: goes on.</summary>
    internal static Task Limit(HttpContext context, GatewayCaller? caller, RequestDelegate next, TierRateLimiter limiter)
    {
        if (caller is null) return next(context);
        var decision = limiter.Acquire(caller.Tier ?? "", caller.BucketKey);
        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = decision.Limit.Capacity.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        var toFull = (decision.Limit.Capacity - decision.Remaining) / decision.Limit.RefillPerSecond;
        headers["RateLimit-Reset"] = ((long)Math.Ceiling(toFull)).ToString(CultureInfo.InvariantCulture);
        if (decision.Admitted) return next(context);
        var seconds = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalSeconds));
        headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        GatewayMetrics.RateLimitRejected(caller.Tier ?? "");
        return GatewayProblems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests",
            $"Rate limit of the '{caller.Tier}' tier exceeded ({decision.Limit.Capacity} burst, {decision.Limit.RefillPerSecond:0.###}/s). Retry after {seconds} s.");
    }
}
