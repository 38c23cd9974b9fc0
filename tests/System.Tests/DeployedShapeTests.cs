using System.Globalization;
using System.Text.RegularExpressions;

namespace Platform.SystemTests;

/// <summary>
/// The deployed shape end to end, through the gateway only, every service on the Dapr adapter behind its own faithful
/// sidecar (<see cref="DeployedPlatform"/>). Which assertion catches which defect:
/// <list type="bullet">
/// <item>Gateway destinations not taken from configuration (loopback defaults): every proxied step fails, since nothing
/// listens on the default ports.</item>
/// <item>The gateway not naming the app (<c>dapr-app-id</c>) on its calls to the sidecar: the sidecar answers 404
/// <c>ERR_DIRECT_INVOKE</c> to every proxied step and records a violation, which fails the fixture's teardown.</item>
/// <item>A service that does not accept the app token its sidecar presents (<c>APP_API_TOKEN</c>): every proxied step and every
/// delivery to it fails.</item>
/// <item>The JWT signing key or the pepper read under another name than the deployed secret, or an issuer/audience that
/// differs from the overlay's: <c>CreateKeyAsync</c> fails (the sidecars' secret store holds the deployed names only, and a
/// missing secret is an error there), and every later step with it.</item>
/// <item>A promotion reaching one serving replica only (<c>ModelPromoted</c> goes to one member of the <c>serving</c>
/// consumer group): <c>BothReplicasAnswerAsync</c> times out on the other replica, after the promotion and after the rollback.</item>
/// <item>A killed replica still chosen after its pod went away: requests started after the kill fail (<c>failedAfterKill</c>).</item>
/// <item>Metrics named on dashboards or in alert rules that nothing emits: <c>Metrics_DashboardsAndRules_AreEmittedOrBelongToANamedExporter</c>.</item>
/// </list>
/// </summary>
[Trait("Category", "Slow")]
public sealed class DeployedShapeTests(DeployedPlatform platform) : IClassFixture<DeployedPlatform>
{
    private const string Model = "system-h5";
    private static readonly string[] Symbols = ["ALPHA", "BRAVO"];
    private static readonly TimeSpan Convergence = TimeSpan.FromSeconds(5);
    private static readonly object PrepareGate = new();
    private static Task<string>? _prepared;

    [Fact]
    public async Task Scenario_ThroughTheGateway_EveryServingReplicaFollowsPromotionsAndAKilledReplicaFailsOnlyItsInFlightRequests()
    {
        var key = await PrepareAsync();

        await PostAsync(key, $"/v1/models/{Model}/versions/2/promote", new { stage = "Production" });
        await BothReplicasAnswerAsync(key, 2);

        await PostAsync(key, $"/v1/models/{Model}/rollback", new { });
        await BothReplicasAnswerAsync(key, 1);

        // Load on both replicas, then one replica's pod goes away (the app SIGKILLed, its sidecar stopped).
        var victim = platform.Serving.Single(s => s.Name == "serving-2");
        var clock = Stopwatch.StartNew();
        var results = new System.Collections.Concurrent.ConcurrentBag<(TimeSpan Start, TimeSpan End, int Status, string? Replica)>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var start = clock.Elapsed;
                int status;
                string? replica = null;
                try
                {
                    using var response = await SendAsync(key, HttpMethod.Post, "/v1/predictions", new { model = Model, symbol = "ALPHA" });
                    status = (int)response.StatusCode;
                    if (response.Headers.TryGetValues("X-Serving-Replica", out var values)) replica = values.Single();
                }
                catch (HttpRequestException)
                {
                    status = 0;
                }
                results.Add((start, clock.Elapsed, status, replica));
                // Paced to at most about 200 requests/s in all, well inside the key's rate limit on a fast machine too:
                // a 429 would be the limiter speaking, not the killed replica.
                await Task.Delay(20);
            }
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var killedAt = clock.Elapsed;
        await platform.KillPodAsync(victim);
        var deadAt = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var beforeKill = results.Where(r => r.End < killedAt).ToList();
        var afterKill = results.Where(r => r.Start >= deadAt).ToList();
        Assert.Contains(beforeKill, r => r.Replica == "serving-2");
        Assert.Contains(beforeKill, r => r.Replica == "serving-1");
        Assert.All(beforeKill, r => Assert.Equal(200, r.Status));
        var failedAfterKill = afterKill.Where(r => r.Status != 200).ToList();
        Assert.True(failedAfterKill.Count == 0,
            $"{failedAfterKill.Count} of {afterKill.Count} requests started after the kill failed: {string.Join(", ", failedAfterKill.Select(f => f.Status).Distinct())}\n"
            + platform.Gateway.Log);
        Assert.True(afterKill.Count >= 10, $"only {afterKill.Count} requests after the kill");
        Assert.All(afterKill, r => Assert.Equal("serving-1", r.Replica));
        // Whatever failed was in flight when the replica died.
        Assert.All(results.Where(r => r.Status != 200), r => Assert.True(r.Start < deadAt && r.End >= killedAt));
    }

    [Fact]
    public async Task Metrics_DashboardsAndRules_AreEmittedOrBelongToANamedExporter()
    {
        var key = await PrepareAsync();
        // Activity behind the platform's own metrics: a refused caller, a throttled caller, a prediction.
        Assert.Equal(HttpStatusCode.Unauthorized, (await platform.Http.GetAsync(platform.Gateway.Url + "/v1/market/symbols")).StatusCode);
        var free = await platform.CreateKeyAsync("free", "market:read");
        var throttled = 0;
        for (var i = 0; i < 40 && throttled == 0; i++)
        {
            using var response = await SendAsync(free, HttpMethod.Get, "/v1/market/symbols");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) throttled++;
        }
        Assert.Equal(1, throttled);
        using (var prediction = await SendAsync(key, HttpMethod.Post, "/v1/predictions", new { model = Model, symbol = "ALPHA" }))
            Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);

        var emitted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var process in platform.Processes.Where(p => !p.HasExited))
        {
            var text = await platform.Http.GetStringAsync(process.MetricsUrl);
            foreach (var line in text.Split('\n').Where(l => l.Length > 0 && l[0] != '#'))
                emitted.Add(Regex.Match(line, "^[a-zA-Z_:][a-zA-Z0-9_:]*").Value);
            // The API port does not serve the scrape: only the management port does.
            Assert.Equal(HttpStatusCode.NotFound, (await platform.Http.GetAsync(process.Url + "/metrics")).StatusCode);
        }

        var named = MetricsNamedInGitops();
        Assert.NotEmpty(named);
        var missing = named.Where(n => ExporterOf(n) is null && !emitted.Contains(n) && !GaugesOnceTheLoopHasData.Contains(n)).Order().ToList();
        Assert.True(missing.Count == 0, $"named in gitops/ but neither emitted by the platform nor a named exporter's: {string.Join(", ", missing)}");
        // The exemptions stay honest: each is named in gitops/ and declared as an instrument under that very name.
        var instruments = File.ReadAllText(Path.Combine(ServiceProcess.RepositoryRoot, "services", "Monitoring", "MonitoringMetrics.cs"));
        Assert.All(GaugesOnceTheLoopHasData, g =>
        {
            Assert.Contains(g, named);
            Assert.Contains($"CreateObservableGauge(\"{g}\"", instruments);
        });
    }

    /// <summary>
    /// Gauges with no value to report before the model loop has joined outcomes or evaluated drift (the exporter emits an
    /// observable gauge only when its callback returns a measurement); this scenario never gets that far.
    /// </summary>
    private static readonly string[] GaugesOnceTheLoopHasData = ["monitoring_drift_ks", "monitoring_drift_psi", "monitoring_live_ic"];

    /// <summary>Key → import → features → two trained versions → version 1 promoted, once per test run (a failure is kept).</summary>
    private Task<string> PrepareAsync()
    {
        lock (PrepareGate) return _prepared ??= PrepareOnceAsync();
    }

    private async Task<string> PrepareOnceAsync()
    {
        var key = await platform.CreateKeyAsync("premium",
            "market:read", "market:write", "features:read", "models:read", "models:write", "predictions:write");
        foreach (var (symbol, i) in Symbols.Select((s, i) => (s, i)))
            await PostAsync(key, "/v1/market/imports", new { symbol, content = Csv(seed: 11 + i, bars: 400) }, HttpStatusCode.Created);
        foreach (var symbol in Symbols)
            await UntilAsync(async () => (await SendAsync(key, HttpMethod.Get, $"/v1/features/{symbol}/latest")).StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(90), $"features of {symbol}");

        foreach (var alpha in new[] { "10", "100" })
        {
            var run = await PostAsync(key, "/v1/training-runs", new
            {
                symbols = Symbols, target = "return", horizon = 5, model = Model, folds = 3, promote = false,
                candidates = new[] { new { kind = "ridge", parameters = new Dictionary<string, string> { ["alpha"] = alpha } } },
            }, HttpStatusCode.Accepted);
            var location = run.GetProperty("location").GetString()!;
            await UntilAsync(async () =>
            {
                var status = (await GetAsync(key, location)).GetProperty("status").GetString();
                if (status is "failed" or "terminated") throw new InvalidOperationException($"training run {location} {status}");
                return status == "completed";
            }, TimeSpan.FromSeconds(180), "training run");
        }

        await PostAsync(key, $"/v1/models/{Model}/versions/1/promote", new { stage = "Production" });
        await BothReplicasAnswerAsync(key, 1, TimeSpan.FromSeconds(30));
        return key;
    }

    /// <summary>Predicts through the gateway until each serving replica has answered with <paramref name="version"/>; fails after <see cref="Convergence"/>.</summary>
    private async Task BothReplicasAnswerAsync(string key, int version, TimeSpan? within = null)
    {
        var replicas = platform.Serving.Where(s => !s.HasExited).Select(s => s.Name).ToHashSet();
        var seen = new Dictionary<string, int>();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await SendAsync(key, HttpMethod.Post, "/v1/predictions", new { model = Model, symbol = "ALPHA" });
            var body = await response.Content.ReadAsStringAsync();
            var replica = response.Headers.GetValues("X-Serving-Replica").Single();
            // 404 while a replica has loaded no champion yet (only before the first promotion has reached it).
            seen[replica] = response.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(body).RootElement.GetProperty("version").GetInt32()
                : response.StatusCode == HttpStatusCode.NotFound ? 0
                : throw new InvalidOperationException($"prediction answered {(int)response.StatusCode}: {body}");
            if (replicas.All(r => seen.GetValueOrDefault(r) == version)) return;
            Assert.True(deadline.Elapsed < (within ?? Convergence),
                $"within {within ?? Convergence} not every replica served v{version}: {string.Join(", ", seen.Select(s => $"{s.Key}=v{s.Value}"))}");
            await Task.Delay(50);
        }
    }

    private Task<HttpResponseMessage> SendAsync(string key, HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, platform.Gateway.Url + path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-Api-Key", key);
        return platform.Http.SendAsync(request);
    }

    private async Task<JsonElement> PostAsync(string key, string path, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await SendAsync(key, HttpMethod.Post, path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"POST {path} answered {(int)response.StatusCode}: {text}\n{platform.Logs[^Math.Min(platform.Logs.Length, 4000)..]}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> GetAsync(string key, string path)
    {
        using var response = await SendAsync(key, HttpMethod.Get, path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what}: not done within {timeout}\n{platform.Logs}");
            await Task.Delay(250);
        }
    }

    /// <summary>Daily bars of a seeded random walk, in the Yahoo-style CSV layout the importer reads.</summary>
    private static string Csv(int seed, int bars)
    {
        var random = new Random(seed);
        var text = new StringBuilder("Date,Open,High,Low,Close,Adj Close,Volume\n");
        var close = 100.0;
        var day = new DateOnly(2022, 1, 3);
        for (var i = 0; i < bars; day = day.AddDays(1))
        {
            if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) continue;
            var open = close;
            close = open * Math.Exp(0.0003 + 0.015 * (random.NextDouble() * 2 - 1));
            var high = Math.Max(open, close) * (1 + 0.004 * random.NextDouble());
            var low = Math.Min(open, close) * (1 - 0.004 * random.NextDouble());
            text.Append(CultureInfo.InvariantCulture, $"{day:yyyy-MM-dd},{open:F4},{high:F4},{low:F4},{close:F4},{close:F4},{random.Next(100_000, 900_000)}\n");
            i++;
        }
        return text.ToString();
    }

    /// <summary>Every metric a dashboard panel or an alert rule in gitops/ selects (<c>name{...}</c>), recording rules excluded.</summary>
    private static HashSet<string> MetricsNamedInGitops()
    {
        var observability = Path.Combine(ServiceProcess.RepositoryRoot, "gitops", "base", "observability");
        var expressions = new List<string>();
        foreach (var dashboard in Directory.GetFiles(Path.Combine(observability, "dashboards"), "*.json"))
            expressions.AddRange(Regex.Matches(File.ReadAllText(dashboard), "\"expr\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").Select(m => Regex.Unescape(m.Groups[1].Value)));
        var rules = File.ReadAllText(Path.Combine(observability, "prometheusrule.yaml"));
        expressions.Add(rules);
        var recorded = Regex.Matches(rules, @"record:\s*(\S+)").Select(m => m.Groups[1].Value).ToHashSet();
        return expressions.SelectMany(e => Regex.Matches(e, @"([a-zA-Z_:][a-zA-Z0-9_:]*)\{").Select(m => m.Groups[1].Value))
            .Where(n => !recorded.Contains(n)).ToHashSet();
    }

    /// <summary>Metrics another exporter provides: Dapr's sidecar, kube-state-metrics, cAdvisor (kubelet), Prometheus itself.</summary>
    private static string? ExporterOf(string metric) =>
        metric.StartsWith("dapr_", StringComparison.Ordinal) ? "dapr"
        : metric.StartsWith("kube_", StringComparison.Ordinal) ? "kube-state-metrics"
        : metric.StartsWith("container_", StringComparison.Ordinal) ? "cadvisor"
        : metric == "up" ? "prometheus"
        : null;
}
