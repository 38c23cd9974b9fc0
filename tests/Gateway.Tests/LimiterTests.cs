using Platform.Gateway.Limits;

namespace Platform.Gateway.Tests;

/// <summary>The two limiters on their own, without a host: the tier buckets and the client limits in front of authentication.</summary>
public sealed class LimiterTests
{
    private static RateLimitOptions Tiers() => new()
    {
        Tiers = new(StringComparer.OrdinalIgnoreCase)
        {
            ["small"] = new TierLimit { Capacity = 2, TokensPerPeriod = 1, Period = TimeSpan.FromHours(1) },
            ["large"] = new TierLimit { Capacity = 5, TokensPerPeriod = 1, Period = TimeSpan.FromHours(1) },
        },
        FallbackTier = "small",
    };

    [Fact]
    public void Acquire_OneCallerInTwoTiers_SpendsASeparateBucketSizedByEachTier()
    {
        using var limiter = new TierRateLimiter(Tiers());
        Assert.True(limiter.Acquire("small", "api-key:a").Admitted);
        Assert.True(limiter.Acquire("small", "api-key:a").Admitted);
        Assert.False(limiter.Acquire("small", "api-key:a").Admitted);

        var large = limiter.Acquire("large", "api-key:a");
        Assert.True(large.Admitted);
        Assert.Equal(5, large.Limit.Capacity);
        Assert.Equal(4, large.Remaining);
        Assert.Equal(2, limiter.Buckets);
    }

    [Fact]
    public void Acquire_UnknownTier_UsesTheFallbackTiersLimit()
    {
        using var limiter = new TierRateLimiter(Tiers());
        var decision = limiter.Acquire("platinum", "jwt:user-1");
        Assert.Equal(2, decision.Limit.Capacity);
        Assert.Equal(1, decision.Remaining);
    }

    [Fact]
    public async Task Check_SpentAddressBudget_IsAdmittedAgainOnceTheBucketRefills()
    {
        using var limiter = new ClientLimiter(new ClientLimitOptions
        {
            PerAddress = new TierLimit { Capacity = 1, TokensPerPeriod = 1, Period = TimeSpan.FromMilliseconds(200) },
        });
        Assert.Null(limiter.Check("127.0.0.1", null));
        limiter.Spend("127.0.0.1", null);
        Assert.Equal("address", limiter.Check("127.0.0.1", null)?.Partition);
        Assert.Null(limiter.Check("127.0.0.2", null));

        // The partitioned limiter's own timer refills its buckets; waited for, however slow the machine.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (limiter.Check("127.0.0.1", null) is not null && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Null(limiter.Check("127.0.0.1", null));
    }
}
