using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Platform.Gateway.Identity;
using Platform.Host;
using Platform.MarketData;
using Platform.OfflineStore;
using Platform.OfflineStore.Sqlite;
using Platform.Quant;
using Platform.Quant.Synthetic;
using Platform.Workflows;

namespace Platform.Bench.Load;

/// <summary>
/// The embedded platform (every service in one process, as <c>./platform run</c> starts it) under a closed-loop mixed load
/// through the gateway over HTTP: predictions of the demo model, bar pages and latest feature vectors, in equal shares.
/// The demo model is trained and promoted first; the directory is copied and 2,000,000 daily bars (200 symbols x 10,000)
/// are written straight to the copy's bar store. The platform is then started afresh for each measurement: the demo
/// directory (a warm-up, then measured), the copy with the bars (the bar reads ask for the large symbols), the demo
/// directory again.
/// </summary>
public sealed class LoadBenchmark : IBenchmark
{
    private const string Tier = "bench";
    private const int BarsPerSymbol = 10_000;
    private const int BarPageLimit = 500;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    public string Name => "load";
    public string Description => "Embedded platform through the gateway: mixed predictions, bar pages, feature vectors; demo data vs 2,000,000 bars stored " +
        "(--seconds N, --workers N)";

    private enum Kind { Prediction, Bars, Features }

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var seconds = context.IntOption("--seconds", context.Quick ? 5 : 30);
        var workers = context.IntOption("--workers", 16);
        var bulkSymbols = context.Quick ? 20 : 200;
        var duration = TimeSpan.FromSeconds(seconds);
        var dataDir = Path.Combine(context.WorkDir, "data");
        // The key's tier allows far more than the load can send, so the gateway's bucket never answers 429 here.
        var settings = new Dictionary<string, string?>
        {
            [$"Gateway:RateLimits:Tiers:{Tier}:Capacity"] = "100000000",
            [$"Gateway:RateLimits:Tiers:{Tier}:TokensPerPeriod"] = "100000000",
            [$"Gateway:RateLimits:Tiers:{Tier}:Period"] = "00:00:01",
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:LogLevel:Platform"] = "Error",
        };
        context.Line($"load: {workers} workers, closed loop, {seconds} s measured after a {WarmUp.TotalSeconds:0} s warm-up, each worker turning through " +
            $"POST /v1/predictions ({DemoBootstrap.ModelName}), GET /v1/market/{{symbol}}/bars?limit={BarPageLimit}, GET /v1/features/{{symbol}}/latest");
        context.Line($"API key: tier '{Tier}' configured with capacity 100,000,000 and 100,000,000 tokens/s, so the rate limit does not cap the load; " +
            "the client runs in the same process as the platform and shares its 2 cores");

        await TrainDemoAsync(context, dataDir, settings, ct);

        // The bulk phase runs on a copy of the demo directory, so the demo data can be measured before and after it: the
        // first measurement only warms the process up (JIT tiers), the mean of the other two brackets the bulk phase
        // against the drift of a shared machine. Every phase starts the platform afresh.
        var bulkDir = Path.Combine(context.WorkDir, "bulk");
        SqliteConnection.ClearAllPools();
        CopyDirectory(dataDir, bulkDir);
        await MeasureOnAsync(context, "warm-up on demo data (not compared)", dataDir, settings, null, workers, duration, ct);
        var demoBefore = await MeasureOnAsync(context, "demo data", dataDir, settings, null, workers, duration, ct);

        var fill = Stopwatch.StartNew();
        await WriteBulkAsync(bulkDir, bulkSymbols, ct);
        context.Line($"stored {bulkSymbols * BarsPerSymbol:N0} bars ({bulkSymbols} symbols x {BarsPerSymbol:N0} daily) straight to the bar store " +
            $"of a copy of the demo directory in {fill.Elapsed.TotalSeconds:F1} s, platform stopped");
        var barSymbols = Enumerable.Range(0, bulkSymbols).Select(BulkSymbol).ToList();
        var bulk = await MeasureOnAsync(context, $"{bulkSymbols * BarsPerSymbol:N0} bars added", bulkDir, settings, barSymbols, workers, duration, ct);
        var demoAfter = await MeasureOnAsync(context, "demo data again", dataDir, settings, null, workers, duration, ct);

        var demo = (demoBefore + demoAfter) / 2;
        var ratio = bulk / demo;
        var met = ratio >= 0.8 ? "met" : "not met";
        context.Line($"ratio: {ratio:F2} ({bulk:N0} req/s with the bulk bars / {demo:N0} req/s, the mean of the demo phases before and after " +
            $"({demoBefore:N0} and {demoAfter:N0}); target >= 0.8: {met})");
        return $"{Name}: {bulk:F0} req/s with {bulkSymbols * BarsPerSymbol:N0} bars added " +
            $"({ratio:F2} vs {demo:F0} req/s on demo data; target >= 0.8 {met})";
    }

    /// <summary>Starts the platform on <paramref name="dataDir"/>, measures it (bar reads of <paramref name="barSymbols"/>, or of the demo symbols), stops it.</summary>
    private static async Task<double> MeasureOnAsync(BenchContext context, string label, string dataDir, IReadOnlyDictionary<string, string?> settings,
        IReadOnlyList<string>? barSymbols, int workers, TimeSpan duration, CancellationToken ct)
    {
        double rate;
        await using (var platform = await StartAsync(dataDir, settings, ct))
        {
            var demoSymbols = DemoSymbols(platform);
            rate = await MeasureAsync(context, label, platform, demoSymbols, barSymbols ?? demoSymbols, workers, duration, ct);
        }
        SqliteConnection.ClearAllPools();
        return rate;
    }

    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>
    /// Seeds <paramref name="dataDir"/> with the demo universe and trains and promotes the demo model on the embedded platform,
    /// then stops it: a directory every service can be started on with a model to serve and features to serve it with.
    /// </summary>
    internal static async Task<IReadOnlyList<string>> TrainDemoAsync(BenchContext context, string dataDir, IReadOnlyDictionary<string, string?> settings,
        CancellationToken ct)
    {
        await using var platform = await StartAsync(dataDir, settings, ct);
        var demoSymbols = DemoSymbols(platform);
        context.Line($"demo universe: {string.Join(", ", demoSymbols)}; training and promoting {DemoBootstrap.ModelName}...");
        var training = Stopwatch.StartNew();
        var run = await DemoBootstrap.StartAsync(platform, TimeSpan.FromMinutes(5), ct)
            ?? throw new InvalidOperationException("The demo universe was not seeded.");
        using (var bound = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            bound.CancelAfter(TimeSpan.FromMinutes(20));
            var state = await platform.Services("training").GetRequiredService<WorkflowClient>()
                .WaitForWorkflowCompletionAsync(run, cancellation: bound.Token);
            if (state.RuntimeStatus != WorkflowRuntimeStatus.Completed)
                throw new InvalidOperationException($"The demo training run ended {state.RuntimeStatus}.");
        }
        context.Line($"demo model trained in {training.Elapsed.TotalSeconds:F0} s");
        return demoSymbols;
    }

    private static Task<EmbeddedPlatform> StartAsync(string dataDir, IReadOnlyDictionary<string, string?> settings, CancellationToken ct) =>
        EmbeddedPlatform.StartAsync(new EmbeddedPlatformOptions
        {
            DataDir = dataDir,
            GatewayUrl = "http://127.0.0.1:0",
            EphemeralServicePorts = true,
            Settings = settings,
        }, ct);

    private static List<string> DemoSymbols(EmbeddedPlatform platform) =>
        SyntheticMarketOptions.Universe(platform.Services("marketdata").GetRequiredService<MarketDataOptions>().Demo.Symbols)
            .Select(s => s.Symbol).ToList();

    private static string BulkSymbol(int i) => $"BULK{i:D3}";

    /// <summary>Daily bars written without outbox entries, so the platform sees them stored, not announced (nothing to compute on start).</summary>
    private static async Task WriteBulkAsync(string dataDir, int symbols, CancellationToken ct)
    {
        var store = SqliteBarStore.InDataDir(dataDir);
        await store.InitializeAsync(ct);
        var t0 = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var s = 0; s < symbols; s++)
        {
            var symbol = BulkSymbol(s);
            var bars = Enumerable.Range(0, BarsPerSymbol)
                .Select(i => new SymbolBar(symbol, BarInterval.OneDay, new Bar(t0.AddDays(i), 100, 101, 99, 100.5, 1000)))
                .ToList();
            await store.WriteAsync(new BarWrite(bars), ct);
        }
        SqliteConnection.ClearAllPools();
    }

    private static async Task<double> MeasureAsync(BenchContext context, string label, EmbeddedPlatform platform,
        IReadOnlyList<string> demoSymbols, IReadOnlyList<string> barSymbols, int workers, TimeSpan duration, CancellationToken ct)
    {
        var keys = platform.Services("gateway").GetRequiredService<ApiKeyService>();
        var key = (await keys.CreateAsync("load-bench", Tier, Scopes.All, null, ct)).Token;
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers, PooledConnectionLifetime = TimeSpan.FromMinutes(30) })
        {
            BaseAddress = new Uri(platform.GatewayUrl),
            Timeout = TimeSpan.FromSeconds(60),
        };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);

        // Ready: the model is served and every demo symbol has its latest feature vector.
        await WaitUntilAsync(async () =>
        {
            foreach (var symbol in demoSymbols)
            {
                using var prediction = await client.SendAsync(Request(Kind.Prediction, symbol), ct);
                using var features = await client.SendAsync(Request(Kind.Features, symbol), ct);
                if (!prediction.IsSuccessStatusCode || !features.IsSuccessStatusCode) return false;
            }
            return true;
        }, TimeSpan.FromMinutes(5), ct);

        var stored = (await platform.Services("marketdata").GetRequiredService<IBarStore>().GetCoverageAsync(ct: ct)).Sum(c => c.Count);
        var rssBefore = Rss();
        var loadBefore = LoadAverage();

        var kinds = Enum.GetValues<Kind>();
        var samples = new List<(Kind Kind, long Ticks)>[workers];
        var failures = new long[kinds.Length];
        var firstFailure = new string?[kinds.Length];
        var warm = Stopwatch.StartNew();
        var measuring = false;
        var clock = new Stopwatch();
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var rng = new Random(w);
            var mine = samples[w] = new List<(Kind, long)>(64 * 1024);
            for (var n = w; ; n++)
            {
                if (Volatile.Read(ref measuring) && clock.Elapsed >= duration) break;
                var kind = kinds[n % kinds.Length];
                var symbols = kind == Kind.Bars ? barSymbols : demoSymbols;
                var symbol = symbols[rng.Next(symbols.Count)];
                var recording = Volatile.Read(ref measuring);
                var start = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(Request(kind, symbol), ct);
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                var elapsed = Stopwatch.GetTimestamp() - start;
                if (!recording) continue;
                mine.Add((kind, elapsed));
                if (response.IsSuccessStatusCode && body.Length > 0) continue;
                if (Interlocked.Increment(ref failures[(int)kind]) == 1)
                    firstFailure[(int)kind] = $"{(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body[..Math.Min(body.Length, 300)])}";
            }
        }, ct)).ToList();
        while (warm.Elapsed < WarmUp) await Task.Delay(50, ct);
        clock.Start();
        Volatile.Write(ref measuring, true);
        await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed.TotalSeconds;

        var rssAfter = Rss();
        var loadAfter = LoadAverage();
        context.Line($"-- {label}: {stored:N0} bars stored; load average before {loadBefore}, after {loadAfter}");
        var all = new LatencyRecorder(samples.Sum(s => s.Count));
        foreach (var (_, ticks) in samples.SelectMany(s => s)) all.AddTicks(ticks);
        foreach (var kind in kinds)
        {
            var one = new LatencyRecorder();
            foreach (var (k, ticks) in samples.SelectMany(s => s)) if (k == kind) one.AddTicks(ticks);
            context.Line($"   {kind.ToString().ToLowerInvariant(),-10}: {one.Count / elapsed,8:N1} req/s  {one.Summary("ms")}  failures {failures[(int)kind]}" +
                (firstFailure[(int)kind] is { } first ? $" (first: {first})" : ""));
        }
        var rate = all.Count / elapsed;
        context.Line($"   {"overall",-10}: {rate,8:N1} req/s  {all.Summary("ms")}  failures {failures.Sum()}");
        context.Line($"   process RSS before {rssBefore / (1024.0 * 1024):N0} MiB, after {rssAfter / (1024.0 * 1024):N0} MiB");
        return rate;
    }

    private static HttpRequestMessage Request(Kind kind, string symbol) => kind switch
    {
        Kind.Prediction => new HttpRequestMessage(HttpMethod.Post, "/v1/predictions")
        {
            Content = JsonContent.Create(new { model = DemoBootstrap.ModelName, symbol }),
        },
        Kind.Bars => new HttpRequestMessage(HttpMethod.Get, $"/v1/market/{symbol}/bars?limit={BarPageLimit}"),
        _ => new HttpRequestMessage(HttpMethod.Get, $"/v1/features/{symbol}/latest"),
    };

    /// <summary>Polls <paramref name="condition"/> every half second until it holds; past <paramref name="timeout"/>, the platform was not ready.</summary>
    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout) throw new TimeoutException($"The platform was not ready (model served, features computed) after {timeout.TotalMinutes:0} min.");
            await Task.Delay(500, ct);
        }
    }

    private static long Rss()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
