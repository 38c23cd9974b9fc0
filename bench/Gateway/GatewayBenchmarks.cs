using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Gateway.Identity;
using Platform.Gateway.Limits;

namespace Platform.Bench.Gateway;

/// <summary>
/// Requests/s, latency and CPU per request straight to a backend, through a plain YARP proxy (no authentication, no limits)
/// and through the gateway (client limits, API key, scope, tier bucket, X-Principal), in one run, for each transport of the
/// hop. Both proxies run as their own processes, as they do in production, each warmed up until its tiered compilation
/// settles: the gateway from its real entry point (its telemetry instruments only itself), the plain proxy from this
/// executable. The three are measured in short phases taken in turn over several rounds (the order rotating), and the
/// ratios are the medians of the rounds' ratios: on a shared machine whose speed drifts from minute to minute, phases
/// measured minutes apart compare the drift as much as the proxies.
/// </summary>
public sealed class GatewayThroughputBenchmark : IBenchmark
{
    public string Name => "gateway";
    public string Description => "HTTP req/s, p50/p99 and CPU per request: direct vs plain YARP vs the gateway process (API key + limits), hop over h2c and HTTP/1.1";

    private sealed record Phase(string Name, Func<HttpRequestMessage> Request, BenchApps.ServerProcess? Server);

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        const int connections = 16;
        var rounds = context.IntOption("--rounds", context.Quick ? 3 : 5);
        var length = TimeSpan.FromSeconds(context.Quick ? 2 : 4);
        await using var backend = await BenchApps.StartBackendAsync();
        var backendUrl = BenchApps.Address(backend);
        var backendH2c = BenchApps.H2cAddress(backend);

        context.Line($"load: {connections} connections, in-process HttpClient over HTTP/1.1 (shares the 2 cores with the servers); for each hop " +
            $"{rounds} rounds of {length.TotalSeconds:0} s phases, direct, plain YARP and the gateway in turn (the order rotating), after each proxy's " +
            "warm-up (the processes start cold); ratios: the median of the rounds' ratios; CPU: this process (load and backend), plus the proxy's process in its phase");
        HttpRequestMessage Direct() => new(HttpMethod.Get, backendUrl + "/v1/market/bars");
        await BenchApps.RunAsync(connections, length, Direct, warmUp: TimeSpan.Zero);
        var hops = context.Args?.Contains("--h2c-only") == true ? new[] { true } : [true, false];
        // --variant "KEY=VALUE;...": a second gateway process with these settings, measured in the same rounds.
        var variantSettings = context.SettingsOption("--variant");
        if (variantSettings is not null) context.Line($"variant: a second gateway process with {string.Join(", ", variantSettings.Select(s => s.Key + "=" + s.Value))}");
        string? summary = null;
        foreach (var h2c in hops)
        {
            var transport = h2c ? "h2c" : "http1";
            var destination = h2c ? backendH2c : backendUrl;
            using var plain = await BenchApps.PlainProxyProcess.StartAsync(destination, h2c, ct);
            using var gateway = await BenchApps.StartGatewayProcessAsync(Path.Combine(context.WorkDir, "gw-" + transport), destination, transport, ct);
            using var variant = variantSettings is null ? null
                : await BenchApps.StartGatewayProcessAsync(Path.Combine(context.WorkDir, "gw-variant-" + transport), destination, transport, ct, variantSettings);
            var plainUrl = plain.Url + "/v1/market/bars";
            HttpRequestMessage Plain() => new(HttpMethod.Get, plainUrl);
            Func<HttpRequestMessage> Through(BenchApps.GatewayProcess process) => () =>
            {
                var r = new HttpRequestMessage(HttpMethod.Get, process.Url + "/v1/market/bars");
                r.Headers.Add("X-Api-Key", process.Key);
                return r;
            };
            // Direct first, then the proxies; results are indexed in this order.
            List<Phase> phases = [new("direct", Direct, null), new("plain YARP", Plain, plain), new("gateway", Through(gateway), gateway)];
            if (variant is not null) phases.Add(new("variant", Through(variant), variant));
            foreach (var (name, request, server) in phases.Skip(1))
            {
                var (warm, compiled) = await BenchApps.WarmUpAsync(server!, () => BenchApps.RunAsync(connections, TimeSpan.FromSeconds(2), request, warmUp: TimeSpan.Zero));
                context.Line($"{name,-10} ({transport,-5}): warmed up for {warm.TotalSeconds:F0} s, " +
                    (compiled ? "until its tiered compilation was done" : "and its tiered compilation was still busy (measured anyway)"));
            }

            var results = phases.Select(_ => new List<BenchApps.LoadResult>()).ToArray();
            var vsYarpByRound = new List<double>();
            var vsDirectByRound = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 0; k < phases.Count; k++)
                {
                    var i = (k + round) % phases.Count;
                    results[i].Add(await BenchApps.RunAsync(connections, length, phases[i].Request, serverCpu: phases[i].Server is { } s ? s.CpuTime : null,
                        warmUp: TimeSpan.FromMilliseconds(500)));
                }
                var (d, y, g) = (results[0][round], results[1][round], results[2][round]);
                var variantRound = variant is null ? "" : $", variant {results[3][round].RequestsPerSecond:N0} ({results[3][round].ServerCpuPerRequest.TotalMicroseconds:F1} us, " +
                    $"{results[3][round].RequestsPerSecond / g.RequestsPerSecond:F2} x the gateway)";
                vsYarpByRound.Add(g.RequestsPerSecond / y.RequestsPerSecond);
                vsDirectByRound.Add(g.RequestsPerSecond / d.RequestsPerSecond);
                context.Line($"  round {round + 1} ({transport}): direct {d.RequestsPerSecond:N0}, plain YARP {y.RequestsPerSecond:N0} ({y.ServerCpuPerRequest.TotalMicroseconds:F1} us), " +
                    $"gateway {g.RequestsPerSecond:N0} ({g.ServerCpuPerRequest.TotalMicroseconds:F1} us) req/s (proxy process per request): " +
                    $"gateway/plain YARP {vsYarpByRound[^1]:F2}, gateway/direct {vsDirectByRound[^1]:F2}{variantRound}");
            }
            var direct = BenchApps.Merge(results[0]);
            var yarp = BenchApps.Merge(results[1]);
            var proxied = BenchApps.Merge(results[2]);
            context.Line($"direct     ({transport,-5}): {BenchApps.Figures(direct)}");
            context.Line($"plain YARP ({transport,-5}): {BenchApps.Figures(yarp)}  (proxy process alone {yarp.ServerCpuPerRequest.TotalMicroseconds:F1} us/request)");
            context.Line($"gateway    ({transport,-5}): {BenchApps.Figures(proxied)}  (gateway process alone {proxied.ServerCpuPerRequest.TotalMicroseconds:F1} us/request)");
            if (variant is not null)
            {
                var other = BenchApps.Merge(results[3]);
                context.Line($"variant    ({transport,-5}): {BenchApps.Figures(other)}  (its process alone {other.ServerCpuPerRequest.TotalMicroseconds:F1} us/request): " +
                    $"{BenchApps.Median(results[3].Zip(results[2], (v, g) => v.RequestsPerSecond / g.RequestsPerSecond).ToList()):F2} x the gateway, " +
                    $"{BenchApps.Median(results[3].Zip(results[1], (v, y) => v.RequestsPerSecond / y.RequestsPerSecond).ToList()):F2} x plain YARP (medians)");
            }
            var vsDirect = BenchApps.Median(vsDirectByRound);
            var vsYarp = BenchApps.Median(vsYarpByRound);
            var yarpVsDirect = BenchApps.Median(results[1].Zip(results[0], (y, d) => y.RequestsPerSecond / d.RequestsPerSecond).ToList());
            var added = (proxied.Latency.Percentile(50) - direct.Latency.Percentile(50)) / 1000;
            var addedVsYarp = (proxied.Latency.Percentile(50) - yarp.Latency.Percentile(50)) / 1000;
            var hopCpu = yarp.CpuPerRequest - direct.CpuPerRequest;
            var gatewayCpu = proxied.CpuPerRequest - direct.CpuPerRequest;
            context.Line($"  hop {transport}: gateway/direct {vsDirect:F2} (target >= 0.4; rounds {BenchApps.Range(vsDirectByRound)}); gateway/plain YARP {vsYarp:F2} " +
                $"(target >= 0.85; rounds {BenchApps.Range(vsYarpByRound)}); plain YARP/direct {yarpVsDirect:F2}; added p50 vs direct {added:F3} ms (target <= 1 ms), vs plain YARP {addedVsYarp:F3} ms");
            context.Line($"  hop {transport}: CPU added per request vs direct: plain YARP {hopCpu.TotalMicroseconds:F1} us, gateway {gatewayCpu.TotalMicroseconds:F1} us " +
                $"({gatewayCpu / hopCpu:F2} x plain YARP)");
            summary ??= $"gateway: {proxied.RequestsPerSecond:F0} req/s over h2c ({vsDirect:F2} vs direct {direct.RequestsPerSecond:F0} req/s, " +
                $"{vsYarp:F2} vs plain YARP {yarp.RequestsPerSecond:F0} req/s, medians of {rounds} rounds; p50 +{added:F3} ms vs direct; " +
                $"gateway process {proxied.ServerCpuPerRequest.TotalMicroseconds:F1} us per request, plain YARP's {yarp.ServerCpuPerRequest.TotalMicroseconds:F1} us)";
        }
        return summary!;
    }
}

/// <summary>
/// A legitimate caller's latency while one address floods the gateway at a fixed rate with missing, unknown and wrong
/// keys: without the flood, with it under the default client limits, and with it when the limits are too large to bite.
/// </summary>
public sealed class GatewayFloodBenchmark : IBenchmark
{
    public string Name => "gateway-flood";
    public string Description => "Legitimate caller p50/p99 (127.0.0.2) with and without a paced bad-key flood from 127.0.0.1, limits on and off";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        const int legitimateConnections = 2;
        var duration = TimeSpan.FromSeconds(context.Quick ? 3 : 10);
        await using var backend = await BenchApps.StartBackendAsync();
        var destination = BenchApps.H2cAddress(backend);
        context.Line($"legitimate: {legitimateConnections} connections from 127.0.0.2, closed loop; flood from 127.0.0.1: no key, random key ids and " +
            $"a real id with a wrong secret in turn, paced; {duration.TotalSeconds:0} s each");

        // The quiet phase runs first, to warm the process up, and last, as the reference.
        var phases = new[] { (0, true), (400, true), (2000, true), (400, false), (2000, false), (0, true) };
        var p50s = new double[phases.Length];
        var lines = new string[phases.Length];
        for (var i = 0; i < phases.Length; i++)
        {
            var (rate, limits) = phases[i];
            var settings = new Dictionary<string, string?>
            {
                ["Gateway:BackendProtocol"] = "h2c",
                ["Gateway:RateLimits:Tiers:bench:Capacity"] = "100000000",
                ["Gateway:RateLimits:Tiers:bench:TokensPerPeriod"] = "100000000",
                ["Gateway:RateLimits:Tiers:bench:Period"] = "00:00:01",
            };
            if (!limits)
                foreach (var partition in new[] { "PerAddress", "PerKeyId" })
                {
                    settings[$"Gateway:ClientLimits:{partition}:Capacity"] = "100000000";
                    settings[$"Gateway:ClientLimits:{partition}:TokensPerPeriod"] = "100000000";
                }
            await using var gateway = await BenchApps.StartGatewayAsync(Path.Combine(context.WorkDir, $"gw-{rate}-{limits}"), destination, settings);
            var url = BenchApps.Address(gateway) + "/v1/market/bars";
            var keys = gateway.Services.GetRequiredService<ApiKeyService>();
            var good = (await keys.CreateAsync("legitimate", "bench", [Scopes.MarketRead], null, ct)).Token;
            var victim = (await keys.CreateAsync("victim", "bench", [Scopes.MarketRead], null, ct)).Token;
            var wrongSecret = victim[..^2] + (victim[^2] == 'A' ? "BB" : "AA");

            using var stopFlood = new CancellationTokenSource();
            var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, long>();
            var flood = rate == 0 ? Task.CompletedTask : FloodAsync(url, rate, wrongSecret, statuses, stopFlood.Token);
            if (rate > 0) await Task.Delay(TimeSpan.FromSeconds(2), ct);
            var loaded = await BenchApps.RunAsync(legitimateConnections, duration, () =>
            {
                var r = new HttpRequestMessage(HttpMethod.Get, url);
                r.Headers.Add("X-Api-Key", good);
                return r;
            }, source: System.Net.IPAddress.Parse("127.0.0.2"));
            await stopFlood.CancelAsync();
            await flood;
            p50s[i] = loaded.Latency.Percentile(50);
            var label = rate == 0 ? (i == 0 ? "no flood (warm-up)" : "no flood") : $"flood {rate}/s, limits {(limits ? "on (defaults)" : "off")}";
            lines[i] = $"{label,-33}: legitimate {loaded.RequestsPerSecond,7:N0} req/s  {loaded.Latency.Summary("ms")}  failures {loaded.Failures}" +
                (rate == 0 ? "" : $"; flood answers {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
            context.Line(lines[i]);
        }
        var baseline = p50s[^1];
        var worst = double.MinValue;
        for (var i = 1; i < phases.Length - 1; i++)
        {
            var added = (p50s[i] - baseline) / 1000;
            context.Line($"  flood {phases[i].Item1}/s, limits {(phases[i].Item2 ? "on " : "off")}: legitimate p50 {added:+0.000;-0.000} ms vs no flood (target <= +2 ms)");
            if (phases[i].Item2) worst = Math.Max(worst, added);
        }
        return $"gateway-flood: legitimate p50 {worst:+0.000;-0.000} ms at worst under a paced bad-key flood (400/s, 2000/s) with the default client limits (target <= +2 ms)";
    }

    /// <summary>Sends bad-key requests from 127.0.0.1 at <paramref name="rate"/> per second (16 connections) until stopped.</summary>
    private static async Task FloodAsync(string url, int rate, string wrongSecret, System.Collections.Concurrent.ConcurrentDictionary<int, long> statuses,
        CancellationToken stop)
    {
        const int workers = 16;
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers });
        var interval = TimeSpan.FromSeconds(workers / (double)rate);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            for (long n = 0; !stop.IsCancellationRequested; n++)
            {
                var due = interval * n + interval * w / workers;
                if (due > clock.Elapsed)
                {
                    try { await Task.Delay(due - clock.Elapsed, stop); }
                    catch (OperationCanceledException) { return; }
                }
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                var presented = (n % 3) switch { 0 => null, 1 => ApiKeyToken.Create(ApiKeyToken.NewId()).Token, _ => wrongSecret };
                if (presented is not null) request.Headers.Add("X-Api-Key", presented);
                using var response = await client.SendAsync(request, CancellationToken.None);
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, c) => c + 1);
            }
        }));
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
