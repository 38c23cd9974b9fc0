using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Gateway.Identity;
using Platform.Gateway.Limits;

namespace Platform.Bench.Gateway;

/// <summary>Requests/s and latency straight to a backend, then through the gateway with key authentication and rate limiting.</summary>
public sealed class GatewayThroughputBenchmark : IBenchmark
{
    public string Name => "gateway";
    public string Description => "HTTP req/s and p50/p99: direct vs through the gateway (API key + token bucket, limits above the load)";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        const int connections = 16;
        var duration = TimeSpan.FromSeconds(context.Quick ? 3 : 10);
        await using var backend = await BenchApps.StartBackendAsync();
        var backendUrl = BenchApps.Address(backend);
        await using var gateway = await BenchApps.StartGatewayAsync(Path.Combine(context.WorkDir, "gw"), backendUrl, new Dictionary<string, string?>
        {
            ["Gateway:RateLimits:Tiers:bench:Capacity"] = "100000000",
            ["Gateway:RateLimits:Tiers:bench:TokensPerPeriod"] = "100000000",
            ["Gateway:RateLimits:Tiers:bench:Period"] = "00:00:01",
        });
        var gatewayUrl = BenchApps.Address(gateway);
        var key = (await gateway.Services.GetRequiredService<ApiKeyService>().CreateAsync("bench", "bench", [Scopes.MarketRead], null, ct)).Token;

        context.Line($"load: {connections} connections, {duration.TotalSeconds:0} s each, in-process HttpClient (shares the 2 cores with the servers)");
        var direct = await BenchApps.RunAsync(connections, duration, () => new HttpRequestMessage(HttpMethod.Get, backendUrl + "/v1/market/bars"));
        context.Line($"direct : {direct.RequestsPerSecond,9:N0} req/s  {direct.Latency.Summary("ms")}  failures {direct.Failures}");
        var proxied = await BenchApps.RunAsync(connections, duration, () =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, gatewayUrl + "/v1/market/bars");
            r.Headers.Add("X-Api-Key", key);
            return r;
        });
        context.Line($"gateway: {proxied.RequestsPerSecond,9:N0} req/s  {proxied.Latency.Summary("ms")}  failures {proxied.Failures}");
        var ratio = proxied.RequestsPerSecond / direct.RequestsPerSecond;
        var added = (proxied.Latency.Percentile(50) - direct.Latency.Percentile(50)) / 1000;
        context.Line($"ratio gateway/direct {ratio:F2} (target >= 0.4); added p50 {added:F3} ms (target <= 1 ms)");

        if (Wrk.Available() && OperatingSystem.IsLinux())
        {
            context.Line("wrk (pinned: wrk on core 1 via taskset, this process on core 0):");
            var affinity = Process.GetCurrentProcess().ProcessorAffinity;
            try
            {
                Process.GetCurrentProcess().ProcessorAffinity = 1;
                context.Line("  direct : " + await Wrk.RunAsync(backendUrl + "/v1/market/bars", null, connections, duration));
                context.Line("  gateway: " + await Wrk.RunAsync(gatewayUrl + "/v1/market/bars", key, connections, duration));
            }
            finally
            {
                Process.GetCurrentProcess().ProcessorAffinity = affinity;
            }
        }
        else context.Line("wrk: not installed (apt-get install -y wrk), skipped");
        return $"gateway: {proxied.RequestsPerSecond:F0} req/s ({ratio:F2} vs direct {direct.RequestsPerSecond:F0} req/s; p50 +{added:F3} ms)";
    }
}

internal static class Wrk
{
    public static bool Available() => File.Exists("/usr/bin/wrk") && File.Exists("/usr/bin/taskset");

    public static async Task<string> RunAsync(string url, string? key, int connections, TimeSpan duration)
    {
        var args = $"-c 1 wrk -t1 -c{connections} -d{(int)duration.TotalSeconds}s --latency" + (key is null ? "" : $" -H \"X-Api-Key: {key}\"") + " " + url;
        var start = new ProcessStartInfo("/usr/bin/taskset", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var lines = output.Split('\n');
        string Pick(string prefix) => lines.FirstOrDefault(l => l.TrimStart().StartsWith(prefix, StringComparison.Ordinal))?.Trim() ?? "";
        return $"{Pick("Requests/sec")}; 50% {Pick("50%").Replace("50%", "").Trim()}; 99% {Pick("99%").Replace("99%", "").Trim()}; {Pick("Non-2xx")}".TrimEnd(' ', ';');
    }
}

/// <summary>The verified-key check alone: parse, cache lookup, HMAC-SHA256 and constant-time compare.</summary>
public sealed class ApiKeyCheckBenchmark : IBenchmark
{
    public string Name => "api-key-check";
    public string Description => "Cost of verifying an API key on the cache-hit path (us per check), and of a cache miss (state store read)";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        await using var store = OfflineKeyStore.Open(Path.Combine(context.WorkDir, "keys"));
        var keys = store.Keys;
        var token = (await keys.CreateAsync("bench", "standard", [Scopes.MarketRead], null, ct)).Token;
        if (await keys.VerifyAsync(token, ct) is null) throw new InvalidOperationException("The key did not verify.");
        var iterations = context.Quick ? 200_000 : 2_000_000;
        for (var i = 0; i < 10_000; i++) await keys.VerifyAsync(token, ct);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
            if (await keys.VerifyAsync(token, ct) is null) throw new InvalidOperationException("The key stopped verifying.");
        var hit = clock.Elapsed.TotalMicroseconds / iterations;
        context.Line($"cache hit : {hit:F3} us per check ({iterations:N0} checks, one thread)");

        var wrong = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        clock.Restart();
        for (var i = 0; i < iterations; i++) await keys.VerifyAsync(wrong, ct);
        context.Line($"wrong key : {clock.Elapsed.TotalMicroseconds / iterations:F3} us per check (same work: HMAC + constant-time compare)");

        var misses = new LatencyRecorder(2000);
        var other = new List<string>();
        for (var i = 0; i < 200; i++) other.Add((await keys.CreateAsync("b" + i, "standard", [Scopes.MarketRead], null, ct)).Token);
        foreach (var t in other)
        {
            var start = Stopwatch.GetTimestamp();
            await keys.VerifyAsync(t, ct);
            misses.AddTicks(Stopwatch.GetTimestamp() - start);
        }
        context.Line($"cache miss: {misses.Summary()} (SQLite state store read)");
        return $"api-key-check: {hit.ToString("F3", CultureInfo.InvariantCulture)} us per verified key (cache hit; miss p50 {misses.Percentile(50):F0} us)";
    }
}

/// <summary>Admitted requests per key over T against the token bucket's promise: capacity + refill x T.</summary>
public sealed class RateLimitAccuracyBenchmark : IBenchmark
{
    public string Name => "rate-limit-accuracy";
    public string Description => "Token bucket per key: admitted over T vs capacity + refill x T, 4 keys hammered from 2 threads each";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var tier = new TierLimit { Capacity = 50, TokensPerPeriod = 10, Period = TimeSpan.FromMilliseconds(100) };
        using var limiter = new TierRateLimiter(new RateLimitOptions { Tiers = new(StringComparer.OrdinalIgnoreCase) { ["t"] = tier }, FallbackTier = "t" });
        var seconds = context.Quick ? 3.0 : 10.0;
        var admitted = new long[4];
        using var ready = new Barrier(9);
        var clock = new Stopwatch();
        // Dedicated threads, released together: pool threads would join one by one and start some keys late.
        var workers = Enumerable.Range(0, 8).Select(w => Task.Factory.StartNew(() =>
        {
            var key = w % 4;
            ready.SignalAndWait(ct);
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                if (limiter.Acquire("t", "key-" + key).Admitted) Interlocked.Increment(ref admitted[key]);
                Thread.SpinWait(200);
            }
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        clock.Start();
        ready.SignalAndWait(ct);
        await Task.WhenAll(workers);
        var t = clock.Elapsed.TotalSeconds;
        var expected = tier.Capacity + tier.RefillPerSecond * t;
        for (var k = 0; k < 4; k++)
            context.Line($"key-{k}: admitted {admitted[k]}, expected {expected:F0} ({(admitted[k] - expected) / expected:+0.0%;-0.0%})");
        var worst = admitted.Max(a => Math.Abs(a - expected) / expected);
        return $"rate-limit-accuracy: worst key within {worst:P1} of capacity + refill x T ({expected:F0} over {t:F1} s)";
    }
}
